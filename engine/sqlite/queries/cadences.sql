-- Cadences and their immutable versions. Parameters are numbered (?N) so a
-- statement may use one twice. Deleted cadences (deleted_at set) are hidden.

-- name: get_cadence
SELECT c.id, c.status, c.version, c.created_at, c.updated_at, v.definition
FROM cadences c
JOIN cadence_versions v ON v.cadence_id = c.id AND v.version = c.version
WHERE c.id = ?1 AND c.deleted_at IS NULL;

-- name: list_cadences
-- ?1 status ('' for all), (?2, ?3) the cursor: created_at and id of the last
-- row of the previous page, ?4 the limit.
SELECT c.id, c.status, c.version, c.created_at, c.updated_at, v.definition
FROM cadences c
JOIN cadence_versions v ON v.cadence_id = c.id AND v.version = c.version
WHERE c.deleted_at IS NULL
  AND (?1 = '' OR c.status = ?1)
  AND (c.created_at, c.id) > (?2, ?3)
ORDER BY c.created_at, c.id
LIMIT ?4;

-- name: insert_cadence
INSERT INTO cadences (id, name, status, version, created_at, updated_at)
VALUES (?1, ?2, ?3, 1, ?4, ?4);

-- name: insert_version
INSERT INTO cadence_versions (cadence_id, version, definition, created_at)
VALUES (?1, ?2, ?3, ?4);

-- name: cadence_version
-- Runs inside the write transaction (BEGIN IMMEDIATE), which already holds
-- the database's write lock: no other writer can bump the version meanwhile.
SELECT version FROM cadences WHERE id = ?1 AND deleted_at IS NULL;

-- name: bump_cadence
UPDATE cadences SET version = ?2, name = ?3, updated_at = ?4 WHERE id = ?1;

-- name: set_cadence_status
UPDATE cadences SET status = ?2, updated_at = ?3 WHERE id = ?1 AND deleted_at IS NULL;

-- name: soft_delete_cadence
UPDATE cadences SET deleted_at = ?2, updated_at = ?2 WHERE id = ?1 AND deleted_at IS NULL;

-- name: list_versions
SELECT v.cadence_id, v.version, v.created_at, v.definition
FROM cadence_versions v
JOIN cadences c ON c.id = v.cadence_id AND c.deleted_at IS NULL
WHERE v.cadence_id = ?1
ORDER BY v.version DESC;

-- name: get_version
SELECT v.cadence_id, v.version, v.created_at, v.definition
FROM cadence_versions v
JOIN cadences c ON c.id = v.cadence_id AND c.deleted_at IS NULL
WHERE v.cadence_id = ?1 AND v.version = ?2;

-- name: cadence_stats
-- A call put back for want of an agent (disposition requeued) did not run.
SELECT
    (SELECT count(*) FROM enrollments e WHERE e.cadence_id = c.id),
    (SELECT max(e.created_at) FROM enrollments e WHERE e.cadence_id = c.id),
    (SELECT count(*) FROM actions a WHERE a.cadence_id = c.id AND a.state = 'completed' AND a.disposition <> 'requeued'),
    (SELECT max(a.completed_at) FROM actions a WHERE a.cadence_id = c.id AND a.state = 'completed' AND a.disposition <> 'requeued')
FROM cadences c
WHERE c.id = ?1 AND c.deleted_at IS NULL;

-- name: count_active_enrollments
SELECT (SELECT count(*) FROM enrollments e WHERE e.cadence_id = c.id AND e.status = 'active')
FROM cadences c
WHERE c.id = ?1 AND c.deleted_at IS NULL;

-- name: stop_cadence_enrollments
UPDATE enrollments SET status = 'stopped', stopped_at = ?2, stop_reason = ?3
WHERE cadence_id = ?1 AND status = 'active';

-- name: cancel_cadence_actions
UPDATE actions SET state = 'cancelled', lease_owner = '', lease_expires_at = NULL
WHERE cadence_id = ?1 AND state = 'scheduled';
