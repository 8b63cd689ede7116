-- 0005: stored SMS templates, which SMS steps name (engine.SMSTemplate).

CREATE TABLE sms_templates (
    id          uuid        NOT NULL PRIMARY KEY,
    name        text        NOT NULL UNIQUE,
    text        text        NOT NULL,
    description text        NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

CREATE INDEX sms_templates_page ON sms_templates (created_at, id);
