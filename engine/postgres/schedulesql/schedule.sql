-- The scheduler's statements: claim, lease, fencing, attempts (counted actions), blocks, DNC.
-- They live outside queries/ because that directory's loader insists that
-- every statement in it maps to a field of its own struct.
--
-- "state || ''" and "status || ''" where a statement names its rows by id:
-- a bare state = 'x' lets the planner serve the statement from an index led
-- by, or partial on, that state (actions_due, actions_lease,
-- actions_state_page, enrollments_one_active), and those hold every
-- scheduled, in-flight or active row. Whenever its statistics call such an
-- index small (right after a bulk enrollment, or the in-flight set seen as
-- tiny) it reads the whole index once per batch, filtering by id: a cost
-- that grows with the schedule instead of the batch. The concatenation
-- matches no index, so the rows are found by primary key; the state is
-- still checked on each of them.

-- name: previous_enrollments
SELECT count(*) FROM enrollments WHERE cadence_id = $1 AND contact_id = $2 AND status <> 'active';

-- name: insert_planned_action
-- The share lock on the enrollment waits for a concurrent stop, then sees it.
INSERT INTO actions (id, enrollment_id, contact_id, cadence_id, step, type, due_at, state, attempt, created_at,
                     run, run_started, rule_retries)
SELECT $1, e.id, e.contact_id, e.cadence_id, $3, $4, $5, 'scheduled', $6, $7, $8, $9, $10
FROM enrollments e
WHERE e.id = $2 AND e.status || '' = 'active'
FOR SHARE OF e
RETURNING id, enrollment_id, cadence_id, step, type, due_at, state, attempt,
          lease_owner, lease_expires_at, created_at, completed_at, disposition;

-- name: insert_block
INSERT INTO blocks (action_id, contact_id, at, code, reason, next_eligible)
VALUES ($1, $2, $3, $4, $5, $6);

-- name: contact_blocks
SELECT action_id, contact_id, at, code, reason, next_eligible
FROM blocks WHERE contact_id = $1 ORDER BY at, id;

-- name: finish_enrollment
UPDATE enrollments SET status = $2, stopped_at = $3, stop_reason = $4
WHERE id = $1 AND status || '' = 'active'
RETURNING id, cadence_id, cadence_version, contact_id, status, created_at, stopped_at, stop_reason;

-- name: cancel_scheduled
UPDATE actions SET state = 'cancelled', lease_owner = '', lease_expires_at = NULL
WHERE enrollment_id = $1 AND state = 'scheduled';

-- name: due_locked
-- Served by actions_due (due_at, id) WHERE state = 'scheduled'. Rows another
-- node is claiming are skipped, never waited for.
SELECT a.id, e.contact_id
FROM actions a JOIN enrollments e ON e.id = a.enrollment_id
WHERE a.state = 'scheduled' AND a.due_at <= $1
ORDER BY a.due_at, a.id
LIMIT $2
FOR UPDATE OF a SKIP LOCKED;

-- name: lock_contacts
-- Every claim locks its contacts in id order, so two claimers never wait on
-- each other in a cycle, and a contact's history cannot change under the
-- harassment check.
SELECT id FROM contacts WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE;

-- name: candidate
SELECT a.id, a.enrollment_id, a.cadence_id, a.step, a.type, a.due_at, a.state, a.attempt,
       a.lease_owner, a.lease_expires_at, a.created_at, a.completed_at, a.disposition,
       a.run, coalesce(a.run_started, e.created_at), a.rule_retries, a.started_at,
       e.id, e.cadence_id, e.cadence_version, e.contact_id, e.status, e.created_at, e.stopped_at, e.stop_reason,
       c.id, c.phone, c.first_name, c.last_name, c.timezone, c.state, c.zip, c.owner, c.fields, c.created_at, c.updated_at,
       cad.status, v.definition,
       EXISTS (SELECT 1 FROM dnc d WHERE d.phone = c.phone)
FROM actions a
JOIN enrollments e ON e.id = a.enrollment_id
JOIN contacts c ON c.id = e.contact_id
JOIN cadences cad ON cad.id = e.cadence_id
JOIN cadence_versions v ON v.cadence_id = e.cadence_id AND v.version = e.cadence_version
WHERE a.id = $1;

-- name: candidates
-- The claim's candidates in one round trip; the caller matches rows to the
-- due ids (an id without a row has vanished). The definitions come once per
-- cadence version from claim_definitions, not once per row.
SELECT a.id, a.enrollment_id, a.cadence_id, a.step, a.type, a.due_at, a.state, a.attempt,
       a.lease_owner, a.lease_expires_at, a.created_at, a.completed_at, a.disposition,
       a.run, coalesce(a.run_started, e.created_at), a.rule_retries, a.started_at,
       e.id, e.cadence_id, e.cadence_version, e.contact_id, e.status, e.created_at, e.stopped_at, e.stop_reason,
       c.id, c.phone, c.first_name, c.last_name, c.timezone, c.state, c.zip, c.owner, c.fields, c.created_at, c.updated_at,
       cad.status, NULL::jsonb,
       EXISTS (SELECT 1 FROM dnc d WHERE d.phone = c.phone)
FROM actions a
JOIN enrollments e ON e.id = a.enrollment_id
JOIN contacts c ON c.id = e.contact_id
JOIN cadences cad ON cad.id = e.cadence_id
WHERE a.id = ANY($1::uuid[]);

-- name: claim_definitions
-- The pinned definitions of the claim's candidates, one row per version.
SELECT v.cadence_id, v.version, v.definition
FROM cadence_versions v
WHERE (v.cadence_id, v.version) IN (
    SELECT e.cadence_id, e.cadence_version
    FROM actions a JOIN enrollments e ON e.id = a.enrollment_id
    WHERE a.id = ANY($1::uuid[]));

-- name: contact_history
-- A contact's attempts: its counted actions, by claim time (actions_attempts).
-- The disposition is the outcome, empty while the call is in flight.
SELECT id, contact_id, enrollment_id, type, started_at, disposition
FROM actions WHERE contact_id = $1 AND counted AND started_at >= $2 ORDER BY started_at, id;

-- name: contact_histories
-- Every claimed contact's history in one round trip (actions_attempts).
SELECT id, contact_id, enrollment_id, type, started_at, disposition
FROM actions WHERE contact_id = ANY($1::uuid[]) AND counted AND started_at >= $2 ORDER BY contact_id, started_at, id;

-- name: claim_actions
-- Joined to the ids (primary-key lookups), not filtered by id = ANY: with
-- the state test, the planner may read every scheduled row through
-- actions_due to find the batch, which grows with the whole schedule.
UPDATE actions a
SET state = 'processing', lease_owner = $2, lease_expires_at = $3, fence = a.fence + 1, started_at = $4, dialing = false,
    counted = true
FROM unnest($1::uuid[]) AS t(id)
WHERE a.id = t.id AND a.state || '' = 'scheduled'
RETURNING a.id, a.fence;

-- name: defer_action
UPDATE actions SET due_at = $2 WHERE id = $1 AND state || '' = 'scheduled';

-- name: cancel_action
UPDATE actions SET state = 'cancelled', lease_owner = '', lease_expires_at = NULL
WHERE id = $1 AND state || '' IN ('scheduled', 'processing');

-- name: mark_dialing
UPDATE actions SET dialing = true WHERE id = $1 AND fence = $2 AND state || '' = 'processing';

-- name: extend_lease
UPDATE actions SET lease_expires_at = $3 WHERE id = $1 AND fence = $2 AND state || '' = 'processing';

-- name: complete_fenced
-- $5 placed: an outcome that never reached the contact no longer counts.
UPDATE actions
SET state = 'completed', completed_at = $3, disposition = $4, lease_owner = '', lease_expires_at = NULL,
    counted = counted AND $5
WHERE id = $1 AND fence = $2 AND state || '' = 'processing'
RETURNING enrollment_id;

-- name: action_enrollment
-- The enrollment of an action, read in Complete's pipeline after the fenced
-- update (same columns as get_enrollment).
SELECT e.id, e.cadence_id, e.cadence_version, e.contact_id, e.status, e.created_at, e.stopped_at, e.stop_reason
FROM actions a JOIN enrollments e ON e.id = a.enrollment_id WHERE a.id = $1;

-- name: expired_leases
-- Served by actions_lease (lease_expires_at) WHERE state = 'processing'.
SELECT id, dialing FROM actions
WHERE state = 'processing' AND lease_expires_at <= $1
ORDER BY lease_expires_at, id
FOR UPDATE SKIP LOCKED;

-- name: return_action
-- Never handed to the dialer: back to the schedule, and not an attempt.
UPDATE actions SET state = 'scheduled', lease_owner = '', lease_expires_at = NULL, fence = fence + 1, dialing = false,
    counted = false
WHERE id = $1 AND state || '' = 'processing';

-- name: release_action
UPDATE actions SET lease_owner = $2, lease_expires_at = $3, fence = fence + 1
WHERE id = $1 AND state || '' = 'processing'
RETURNING fence;

-- name: next_due
SELECT min(due_at) FROM actions WHERE state = 'scheduled';

-- name: set_agent_disposition
UPDATE actions SET agent_disposition = $2 WHERE id = $1 AND state || '' = 'completed'
RETURNING enrollment_id;

-- name: insert_dnc
INSERT INTO dnc (phone, reason, created_at) VALUES ($1, $2, $3) ON CONFLICT (phone) DO NOTHING;

-- name: delete_dnc
DELETE FROM dnc WHERE phone = $1;

-- name: is_dnc
SELECT count(*) FROM dnc WHERE phone = $1;

-- name: stop_phone_enrollments
UPDATE enrollments SET status = 'stopped', stopped_at = $2, stop_reason = $3
WHERE status || '' = 'active' AND contact_id IN (SELECT id FROM contacts WHERE phone = $1)
RETURNING id;

-- name: notify_due
-- Delivered at commit to every node's listener: an action is due now.
-- NOTIFY, not SELECT pg_notify(): a utility statement is not planned, and
-- pg_notify's plan cost four times its execution (10 µs of 12 per insert).
NOTIFY cadenza_due;

-- name: listen_due
LISTEN cadenza_due;

-- name: mark_dialing_group
-- Group commit: the dialing marks of several claimed actions, each under its
-- fence; an id missing from the result had a stale fence.
UPDATE actions a SET dialing = true
FROM unnest($1::uuid[], $2::bigint[]) AS t(id, fence)
WHERE a.id = t.id AND a.fence = t.fence AND a.state || '' = 'processing'
RETURNING a.id;

-- name: complete_group
-- Group commit: several outcomes, each under its fence (one that never
-- reached its contact no longer counts as an attempt), returning the
-- enrollment of each completed action (same columns as get_enrollment). An
-- id missing from the result had a stale fence or was not processing, and
-- nothing of it changed.
WITH t AS (
    SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::timestamptz[], $4::text[], $5::bool[])
        AS t(id, fence, at, disposition, placed)
), done AS (
    UPDATE actions a
    SET state = 'completed', completed_at = t.at, disposition = t.disposition, lease_owner = '', lease_expires_at = NULL,
        counted = a.counted AND t.placed
    FROM t
    WHERE a.id = t.id AND a.fence = t.fence AND a.state || '' = 'processing'
    RETURNING a.id, a.enrollment_id
)
SELECT d.id, e.id, e.cadence_id, e.cadence_version, e.contact_id, e.status, e.created_at, e.stopped_at, e.stop_reason
FROM done d JOIN enrollments e ON e.id = d.enrollment_id;

-- name: finish_enrollments
-- Group commit: finish_enrollment and cancel_scheduled for several
-- enrollments; one that finished meanwhile is left as it is.
WITH f AS (
    UPDATE enrollments e SET status = t.status, stopped_at = t.at, stop_reason = t.reason
    FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::text[]) AS t(id, status, at, reason)
    WHERE e.id = t.id AND e.status || '' = 'active'
    RETURNING e.id
)
UPDATE actions a SET state = 'cancelled', lease_owner = '', lease_expires_at = NULL
FROM f WHERE a.enrollment_id = f.id AND a.state = 'scheduled';

-- name: insert_planned_actions
-- Group commit: insert_planned_action for several enrollments (arguments as
-- its, in arrays); an enrollment that finished meanwhile gets none.
INSERT INTO actions (id, enrollment_id, contact_id, cadence_id, step, type, due_at, state, attempt, created_at,
                     run, run_started, rule_retries)
SELECT t.id, e.id, e.contact_id, e.cadence_id, t.step, t.type, t.due_at, 'scheduled', t.attempt, t.created_at,
       t.run, t.run_started, t.rule_retries::jsonb
FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::text[], $5::timestamptz[], $6::int[], $7::timestamptz[],
            $8::int[], $9::timestamptz[], $10::text[])
     AS t(id, enrollment_id, step, type, due_at, attempt, created_at, run, run_started, rule_retries)
JOIN enrollments e ON e.id = t.enrollment_id
WHERE e.status || '' = 'active'
FOR SHARE OF e;

-- name: insert_blocks
-- Group commit: several blocks; one naming a next action (names_new) is
-- only kept when that action was inserted (its enrollment was active).
INSERT INTO blocks (action_id, contact_id, at, code, reason, next_eligible)
SELECT b.action_id, b.contact_id, b.at, b.code, b.reason, b.next_eligible
FROM unnest($1::text[], $2::uuid[], $3::timestamptz[], $4::text[], $5::text[], $6::timestamptz[], $7::bool[])
     AS b(action_id, contact_id, at, code, reason, next_eligible, names_new)
WHERE CASE WHEN b.names_new THEN EXISTS (SELECT 1 FROM actions a WHERE a.id = b.action_id::uuid) ELSE true END;
