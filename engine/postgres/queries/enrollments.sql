-- Contacts, enrollments and the schedule of actions.

-- name: upsert_contact
-- An empty owner keeps the stored one: clearing an owner is SetContactOwner's.
INSERT INTO contacts (id, phone, first_name, last_name, timezone, state, zip, owner, fields, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
ON CONFLICT (phone) DO UPDATE SET
    first_name = EXCLUDED.first_name,
    last_name  = EXCLUDED.last_name,
    timezone   = EXCLUDED.timezone,
    state      = EXCLUDED.state,
    zip        = EXCLUDED.zip,
    owner      = CASE WHEN EXCLUDED.owner = '' THEN contacts.owner ELSE EXCLUDED.owner END,
    fields     = EXCLUDED.fields,
    updated_at = EXCLUDED.updated_at
RETURNING id, phone, first_name, last_name, timezone, state, zip, owner, fields, created_at, updated_at;

-- name: get_contact
SELECT id, phone, first_name, last_name, timezone, state, zip, owner, fields, created_at, updated_at
FROM contacts WHERE id = $1;

-- name: insert_enrollment
INSERT INTO enrollments (id, cadence_id, cadence_version, contact_id, status, created_at)
VALUES ($1, $2, $3, $4, 'active', $5);

-- name: get_enrollment
SELECT id, cadence_id, cadence_version, contact_id, status, created_at, stopped_at, stop_reason
FROM enrollments WHERE id = $1;

-- name: stop_enrollment
UPDATE enrollments SET status = 'stopped', stopped_at = $2, stop_reason = $3
WHERE id = $1 AND status = 'active'
RETURNING id, cadence_id, cadence_version, contact_id, status, created_at, stopped_at, stop_reason;

-- name: cancel_enrollment_actions
UPDATE actions SET state = 'cancelled', lease_owner = '', lease_expires_at = NULL
WHERE enrollment_id = $1 AND state = 'scheduled';

-- name: insert_action
-- The cadence comes from the enrollment, which must still be active. The
-- share lock waits for a concurrent stop, and then sees it.
INSERT INTO actions (id, enrollment_id, contact_id, cadence_id, step, type, due_at, state, attempt, created_at)
SELECT $1, e.id, e.contact_id, e.cadence_id, $3, $4, $5, 'scheduled', $6, $7
FROM enrollments e
WHERE e.id = $2 AND e.status = 'active'
FOR SHARE
RETURNING id, enrollment_id, cadence_id, step, type, due_at, state, attempt,
          lease_owner, lease_expires_at, created_at, completed_at, disposition;

-- name: get_action
SELECT id, enrollment_id, cadence_id, step, type, due_at, state, attempt,
       lease_owner, lease_expires_at, created_at, completed_at, disposition
FROM actions WHERE id = $1;

-- name: complete_action
UPDATE actions
SET state = 'completed', completed_at = $2, disposition = $3, lease_owner = '', lease_expires_at = NULL
WHERE id = $1 AND state IN ('scheduled', 'processing')
RETURNING id, enrollment_id, cadence_id, step, type, due_at, state, attempt,
          lease_owner, lease_expires_at, created_at, completed_at, disposition;

-- name: lock_contact_by_phone
-- Locks a known contact before an upsert, so its owner change (if any)
-- follows the ones SetContactOwner records under the same lock.
SELECT id, owner FROM contacts WHERE phone = $1 FOR UPDATE;
