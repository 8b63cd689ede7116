-- 0002: the scheduler. Claims carry a fencing number and a "dialing" mark;
-- every placed (or in-flight) call and SMS is an attempt that harassment
-- limits count across cadences; blocks record why an action moved; dnc is
-- the suppression list.

ALTER TABLE actions
    ADD COLUMN fence             bigint      NOT NULL DEFAULT 0,
    -- dialing is set right before the hand-off to the dialer: a lost lease on
    -- a dialing row means the call may have happened and must not be redialed.
    ADD COLUMN dialing           boolean     NOT NULL DEFAULT false,
    ADD COLUMN started_at        timestamptz,
    ADD COLUMN run               integer     NOT NULL DEFAULT 1,
    ADD COLUMN run_started       timestamptz,
    ADD COLUMN rule_retries      jsonb       NOT NULL DEFAULT '{}',
    ADD COLUMN agent_disposition text        NOT NULL DEFAULT '';

CREATE TABLE attempts (
    action_id     uuid        NOT NULL PRIMARY KEY REFERENCES actions (id),
    contact_id    uuid        NOT NULL REFERENCES contacts (id),
    enrollment_id uuid        NOT NULL REFERENCES enrollments (id),
    channel       text        NOT NULL CHECK (channel IN ('call', 'sms')),
    at            timestamptz NOT NULL,
    disposition   text        NOT NULL DEFAULT ''
);

CREATE INDEX attempts_contact ON attempts (contact_id, at);

CREATE TABLE blocks (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    action_id     text        NOT NULL DEFAULT '',
    contact_id    uuid        NOT NULL REFERENCES contacts (id),
    at            timestamptz NOT NULL,
    code          text        NOT NULL,
    reason        text        NOT NULL,
    next_eligible timestamptz
);

CREATE INDEX blocks_contact ON blocks (contact_id, at);

CREATE TABLE dnc (
    phone      text        NOT NULL PRIMARY KEY,
    reason     text        NOT NULL,
    created_at timestamptz NOT NULL
);
