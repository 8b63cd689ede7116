-- SMS templates (engine.SMSTemplateStore).

-- name: insert_sms_template
INSERT INTO sms_templates (id, name, text, description, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $5);

-- name: get_sms_template
-- $1 is the argument as an id (NULL when it is not a UUID), $2 as a name; an
-- id match wins over a name match.
SELECT id, name, text, description, created_at, updated_at
FROM sms_templates
WHERE id = $1::uuid OR name = $2
ORDER BY (id = $1::uuid) IS TRUE DESC
LIMIT 1;

-- name: list_sms_templates
SELECT id, name, text, description, created_at, updated_at
FROM sms_templates
WHERE (created_at, id) > ($1::timestamptz, $2::uuid)
ORDER BY created_at, id
LIMIT $3;

-- name: update_sms_template
UPDATE sms_templates SET name = $2, text = $3, description = $4, updated_at = $5
WHERE id = $1
RETURNING created_at;

-- name: lock_sms_template
SELECT name FROM sms_templates WHERE id = $1 FOR UPDATE;

-- name: sms_template_user
-- The first active cadence whose current definition has an SMS step naming
-- the template by id ($1) or by name ($2), with the 1-based step number.
SELECT c.name, s.n
FROM cadences c
JOIN cadence_versions v ON v.cadence_id = c.id AND v.version = c.version
CROSS JOIN LATERAL jsonb_array_elements(
    CASE jsonb_typeof(v.definition -> 'steps') WHEN 'array' THEN v.definition -> 'steps' ELSE '[]'::jsonb END
) WITH ORDINALITY AS s (step, n)
WHERE c.status = 'active' AND c.deleted_at IS NULL
  AND s.step ->> 'type' = 'sms'
  AND s.step -> 'sms' ->> 'template' IN ($1::text, $2::text)
ORDER BY c.created_at, c.id, s.n
LIMIT 1;

-- name: delete_sms_template
DELETE FROM sms_templates WHERE id = $1;
