-- The operators' read model: action, enrollment and do-not-call listings
-- and the rows analytics count (engine/readmodel.go defines the numbers).
-- Lists page by (created_at, key) like every other list. An optional
-- cadence id is passed as NULL when absent, so the uuid cast never sees ''.

-- name: list_actions
-- One state at a time ($1), so the page walks actions_state_page; the store
-- merges the states of a view. $2 cadence id or NULL, ($3, $4) the cursor,
-- $5 the limit.
SELECT a.id, a.enrollment_id, e.contact_id, a.cadence_id, e.cadence_version, c.name, c.created_at,
       ct.phone, a.step, a.type, a.state, a.created_at, a.due_at, a.attempt,
       a.completed_at, a.disposition, a.agent_disposition
FROM actions a
JOIN enrollments e ON e.id = a.enrollment_id
JOIN cadences c ON c.id = a.cadence_id
JOIN contacts ct ON ct.id = e.contact_id
WHERE a.state = $1::text
  AND ($2::uuid IS NULL OR a.cadence_id = $2::uuid)
  AND (a.created_at, a.id) > ($3::timestamptz, $4::uuid)
ORDER BY a.created_at, a.id
LIMIT $5;

-- name: version_definition
-- Deleted cadences included: their history still lists.
SELECT definition FROM cadence_versions WHERE cadence_id = $1 AND version = $2;

-- name: list_enrollments
-- $1 cadence id or NULL, $2 status ('' for all), ($3, $4) the cursor, $5 the limit.
SELECT e.id, e.cadence_id, e.cadence_version, e.contact_id, e.status, e.created_at, e.stopped_at, e.stop_reason,
       ct.phone
FROM enrollments e
JOIN contacts ct ON ct.id = e.contact_id
WHERE ($1::uuid IS NULL OR e.cadence_id = $1::uuid)
  AND ($2::text = '' OR e.status = $2::text)
  AND (e.created_at, e.id) > ($3::timestamptz, $4::uuid)
ORDER BY e.created_at, e.id
LIMIT $5;

-- name: list_dnc
SELECT phone, reason, created_at FROM dnc
WHERE (created_at, phone) > ($1::timestamptz, $2::text)
ORDER BY created_at, phone
LIMIT $3;

-- name: analytics_cadences
-- $1 status ('' for all), $2 cadence id or NULL.
SELECT c.id, c.status, v.definition
FROM cadences c
JOIN cadence_versions v ON v.cadence_id = c.id AND v.version = c.version
WHERE c.deleted_at IS NULL
  AND ($1::text = '' OR c.status = $1::text)
  AND ($2::uuid IS NULL OR c.id = $2::uuid)
ORDER BY c.created_at, c.id;

-- name: analytics_steps
-- Attempts (finished placed calls), contacts and conversions per cadence and
-- step, classified by engine/readmodel.go's definitions.
-- $1 status ('' for all), $2 cadence id or NULL; $3, $4, $5 the catalog's
-- codes, contact codes and conversion codes (engine.CatalogCodes).
WITH f AS (
    SELECT a.cadence_id, a.step, a.enrollment_id,
           -- An agent's catalog code decides; otherwise a human answer is a contact.
           CASE WHEN a.agent_disposition = ANY ($3::text[]) THEN (CASE WHEN a.agent_disposition = ANY ($4::text[]) THEN 1 ELSE 0 END)
                WHEN a.disposition = 'human' THEN 1 ELSE 0 END AS contact,
           CASE WHEN a.agent_disposition = ANY ($5::text[]) THEN 1 ELSE 0 END AS conversion
    FROM actions a
    JOIN cadences c ON c.id = a.cadence_id
    WHERE a.counted AND a.type = 'call' AND a.disposition <> ''
    AND c.deleted_at IS NULL
    AND ($1::text = '' OR c.status = $1::text)
    AND ($2::uuid IS NULL OR c.id = $2::uuid)
)
SELECT cadence_id, step, count(*), coalesce(sum(contact), 0)::bigint, coalesce(sum(conversion), 0)::bigint
FROM f
GROUP BY cadence_id, step;

-- name: analytics_first_contacts
-- Per cadence: the enrollments that reached their contact, and the sum of
-- the attempt numbers of their first contacts (n counts an enrollment's
-- attempts oldest first, so the first contact's n is the attempts it took).
-- $1 status ('' for all), $2 cadence id or NULL; $3, $4, $5 the catalog's
-- codes, contact codes and conversion codes (engine.CatalogCodes).
WITH f AS (
    SELECT a.cadence_id, a.step, a.enrollment_id,
           -- An agent's catalog code decides; otherwise a human answer is a contact.
           CASE WHEN a.agent_disposition = ANY ($3::text[]) THEN (CASE WHEN a.agent_disposition = ANY ($4::text[]) THEN 1 ELSE 0 END)
                WHEN a.disposition = 'human' THEN 1 ELSE 0 END AS contact,
           CASE WHEN a.agent_disposition = ANY ($5::text[]) THEN 1 ELSE 0 END AS conversion,
           row_number() OVER (PARTITION BY a.enrollment_id ORDER BY a.started_at, a.id) AS n
    FROM actions a
    JOIN cadences c ON c.id = a.cadence_id
    WHERE a.counted AND a.type = 'call' AND a.disposition <> ''
    AND c.deleted_at IS NULL
    AND ($1::text = '' OR c.status = $1::text)
    AND ($2::uuid IS NULL OR c.id = $2::uuid)
), firsts AS (
    SELECT cadence_id, enrollment_id, min(n) AS n FROM f WHERE contact = 1 GROUP BY cadence_id, enrollment_id
)
SELECT cadence_id, count(*), coalesce(sum(n), 0)::bigint
FROM firsts
GROUP BY cadence_id;

-- name: analytics_abandonment
-- Live answers (human or abandoned) and abandoned calls per cadence, of the
-- actions completed in the rolling window ($3, $4] (engine/readmodel.go's
-- definitions). Cadences drive the join so that each one's completed
-- actions are a range of actions_cadence (cadence_id, state, completed_at).
-- $1 status ('' for all), $2 cadence id or NULL.
SELECT a.cadence_id, count(*), coalesce(sum(CASE WHEN a.disposition = 'abandoned' THEN 1 ELSE 0 END), 0)::bigint
FROM cadences c
JOIN actions a ON a.cadence_id = c.id AND a.state = 'completed'
     AND a.completed_at > $3::timestamptz AND a.completed_at <= $4::timestamptz
WHERE c.deleted_at IS NULL
  AND ($1::text = '' OR c.status = $1::text)
  AND ($2::uuid IS NULL OR c.id = $2::uuid)
  AND a.counted AND a.type = 'call' AND a.disposition IN ('human', 'abandoned')
GROUP BY a.cadence_id;

-- name: abandonment_history
-- The predictive pacer's ledger: live answers and abandoned calls per
-- cadence and UTC clock hour of completion, of the actions completed at or
-- after $1. Same access path as analytics_abandonment: one actions_cadence
-- range per cadence.
SELECT a.cadence_id, date_trunc('hour', a.completed_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour, count(*),
       coalesce(sum(CASE WHEN a.disposition = 'abandoned' THEN 1 ELSE 0 END), 0)::bigint
FROM cadences c
JOIN actions a ON a.cadence_id = c.id AND a.state = 'completed' AND a.completed_at >= $1::timestamptz
WHERE c.deleted_at IS NULL
  AND a.counted AND a.type = 'call' AND a.disposition IN ('human', 'abandoned')
GROUP BY a.cadence_id, hour
ORDER BY a.cadence_id, hour;
