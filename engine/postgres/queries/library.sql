-- Templates and audio assets.

-- name: insert_template
INSERT INTO templates (id, name, description, definition, created_at)
VALUES ($1, $2, $3, $4, $5);

-- name: list_templates
SELECT id, name, description, created_at, definition
FROM templates
WHERE (created_at, id) > ($1::timestamptz, $2::uuid)
ORDER BY created_at, id
LIMIT $3;

-- name: get_template
SELECT id, name, description, created_at, definition FROM templates WHERE id = $1;

-- name: delete_template
DELETE FROM templates WHERE id = $1;

-- name: insert_asset
INSERT INTO assets (id, name, duration_ms, pcm, created_at) VALUES ($1, $2, $3, $4, $5);

-- name: get_asset
-- $1 is the argument as an id (NULL when it is not a UUID), $2 as a name; an
-- id match wins over a name match.
SELECT id, name, duration_ms, created_at, pcm
FROM assets
WHERE id = $1::uuid OR name = $2
ORDER BY (id = $1::uuid) IS TRUE DESC
LIMIT 1;

-- name: list_assets
SELECT id, name, duration_ms, created_at
FROM assets
WHERE (created_at, id) > ($1::timestamptz, $2::uuid)
ORDER BY created_at, id
LIMIT $3;

-- name: delete_asset
DELETE FROM assets WHERE id = $1;
