-- API keys and stored Idempotency-Key responses.

-- name: insert_api_key
INSERT INTO api_keys (id, name, role, prefix, hash, created_at, agent_id) VALUES ($1, $2, $3, $4, $5, $6, $7);

-- name: api_key_by_hash
SELECT id, name, role, prefix, hash, created_at, last_used_at, agent_id FROM api_keys WHERE hash = $1;

-- name: touch_api_key
-- $3 is the oldest last use that is still fresh: a key used within the last
-- minute is not written again, so authentication stays a read.
UPDATE api_keys SET last_used_at = $2
WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3);

-- name: list_api_keys
SELECT id, name, role, prefix, hash, created_at, last_used_at, agent_id
FROM api_keys
WHERE (created_at, id) > ($1::timestamptz, $2::uuid)
ORDER BY created_at, id
LIMIT $3;

-- name: delete_api_key
DELETE FROM api_keys WHERE id = $1;

-- name: delete_api_key_idempotency
DELETE FROM idempotency WHERE api_key_id = $1;

-- name: count_api_keys
SELECT count(*) FROM api_keys;

-- name: get_idempotent
SELECT request_hash, status, content_type, body, created_at
FROM idempotency
WHERE api_key_id = $1 AND key = $2;

-- name: insert_idempotent
INSERT INTO idempotency (api_key_id, key, request_hash, status, content_type, body, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7);

-- name: purge_idempotent
DELETE FROM idempotency WHERE created_at < $1;
