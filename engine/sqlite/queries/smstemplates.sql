-- SMS templates (engine.SMSTemplateStore).

-- name: insert_sms_template
INSERT INTO sms_templates (id, name, text, description, created_at, updated_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?5);

-- name: get_sms_template
-- An id match wins over a name match (a name may look like another's id).
SELECT id, name, text, description, created_at, updated_at
FROM sms_templates
WHERE id = ?1 OR name = ?1
ORDER BY id = ?1 DESC
LIMIT 1;

-- name: list_sms_templates
SELECT id, name, text, description, created_at, updated_at
FROM sms_templates
WHERE (created_at, id) > (?1, ?2)
ORDER BY created_at, id
LIMIT ?3;

-- name: update_sms_template
UPDATE sms_templates SET name = ?2, text = ?3, description = ?4, updated_at = ?5
WHERE id = ?1
RETURNING created_at;

-- name: sms_template_ref
SELECT id, name FROM sms_templates WHERE id = ?1;

-- name: sms_template_user
-- The first active cadence whose current definition has an SMS step naming
-- the template by id (?1) or by name (?2), with the 1-based step number.
SELECT c.name, CAST(s.key AS INTEGER) + 1
FROM cadences c
JOIN cadence_versions v ON v.cadence_id = c.id AND v.version = c.version
JOIN json_each(v.definition, '$.steps') s
WHERE c.status = 'active' AND c.deleted_at IS NULL
  AND s.type = 'object'
  AND json_extract(s.value, '$.type') = 'sms'
  AND json_extract(s.value, '$.sms.template') IN (?1, ?2)
ORDER BY c.created_at, c.id, s.key
LIMIT 1;

-- name: delete_sms_template
DELETE FROM sms_templates WHERE id = ?1;
