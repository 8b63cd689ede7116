-- 0002: the scheduler. Claims carry a fencing number and a "dialing" mark;
-- every placed (or in-flight) call and SMS is an attempt that harassment
-- limits count across cadences; blocks record why an action moved; dnc is
-- the suppression list.

ALTER TABLE actions ADD COLUMN fence INTEGER NOT NULL DEFAULT 0;
-- dialing is set right before the hand-off to the dialer: a lost lease on a
-- dialing row means the call may have happened and must not be redialed.
ALTER TABLE actions ADD COLUMN dialing INTEGER NOT NULL DEFAULT 0;
ALTER TABLE actions ADD COLUMN started_at INTEGER;
ALTER TABLE actions ADD COLUMN run INTEGER NOT NULL DEFAULT 1;
ALTER TABLE actions ADD COLUMN run_started INTEGER;
ALTER TABLE actions ADD COLUMN rule_retries TEXT NOT NULL DEFAULT '{}';
ALTER TABLE actions ADD COLUMN agent_disposition TEXT NOT NULL DEFAULT '';

CREATE TABLE attempts (
    action_id     TEXT    NOT NULL PRIMARY KEY REFERENCES actions (id),
    contact_id    TEXT    NOT NULL REFERENCES contacts (id),
    enrollment_id TEXT    NOT NULL REFERENCES enrollments (id),
    channel       TEXT    NOT NULL CHECK (channel IN ('call', 'sms')),
    at            INTEGER NOT NULL,
    disposition   TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX attempts_contact ON attempts (contact_id, at);

CREATE TABLE blocks (
    id            INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    action_id     TEXT    NOT NULL DEFAULT '',
    contact_id    TEXT    NOT NULL REFERENCES contacts (id),
    at            INTEGER NOT NULL,
    code          TEXT    NOT NULL,
    reason        TEXT    NOT NULL,
    next_eligible INTEGER
) STRICT;

CREATE INDEX blocks_contact ON blocks (contact_id, at);

CREATE TABLE dnc (
    phone      TEXT    NOT NULL PRIMARY KEY,
    reason     TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
