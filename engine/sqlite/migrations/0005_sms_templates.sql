-- 0005: stored SMS templates, which SMS steps name (engine.SMSTemplate).

CREATE TABLE sms_templates (
    id          TEXT    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    text        TEXT    NOT NULL,
    description TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX sms_templates_page ON sms_templates (created_at, id);
