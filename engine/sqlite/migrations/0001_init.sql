-- 0001: the first schema. Times are INTEGER microseconds since the Unix epoch,
-- UTC; identifiers are UUIDv7 strings; definitions are JSON text.

CREATE TABLE cadences (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    status     TEXT    NOT NULL CHECK (status IN ('draft', 'active', 'inactive', 'archived')),
    version    INTEGER NOT NULL CHECK (version >= 1),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    -- A deleted cadence is hidden, not removed: its enrollments and actions
    -- stay as the history that harassment limits and analytics count.
    deleted_at INTEGER
) STRICT;

CREATE INDEX cadences_page ON cadences (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX cadences_status_page ON cadences (status, created_at, id) WHERE deleted_at IS NULL;

CREATE TABLE cadence_versions (
    cadence_id TEXT    NOT NULL REFERENCES cadences (id),
    version    INTEGER NOT NULL CHECK (version >= 1),
    definition TEXT    NOT NULL CHECK (json_valid(definition)),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (cadence_id, version)
) STRICT;

CREATE TRIGGER cadence_versions_immutable BEFORE UPDATE ON cadence_versions
BEGIN
    SELECT RAISE(ABORT, 'cadence versions are immutable');
END;

CREATE TABLE templates (
    id          TEXT    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL,
    definition  TEXT    NOT NULL CHECK (json_valid(definition)),
    created_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX templates_page ON templates (created_at, id);

CREATE TABLE api_keys (
    id           TEXT    NOT NULL PRIMARY KEY,
    name         TEXT    NOT NULL,
    role         TEXT    NOT NULL CHECK (role IN ('admin', 'manager', 'agent', 'viewer')),
    prefix       TEXT    NOT NULL,
    hash         BLOB    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
) STRICT;

CREATE INDEX api_keys_page ON api_keys (created_at, id);

-- api_key_id has no foreign key: the bootstrap admin key from the
-- environment is not a row, and its responses are stored all the same.
CREATE TABLE idempotency (
    api_key_id   TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    request_hash BLOB    NOT NULL,
    status       INTEGER NOT NULL,
    content_type TEXT    NOT NULL,
    body         BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (api_key_id, key)
) STRICT;

CREATE INDEX idempotency_created ON idempotency (created_at);

CREATE TABLE assets (
    id          TEXT    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    duration_ms INTEGER NOT NULL CHECK (duration_ms >= 0),
    pcm         BLOB    NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX assets_page ON assets (created_at, id);

CREATE TABLE contacts (
    id         TEXT    NOT NULL PRIMARY KEY,
    phone      TEXT    NOT NULL UNIQUE,
    first_name TEXT    NOT NULL,
    last_name  TEXT    NOT NULL,
    timezone   TEXT    NOT NULL,
    state      TEXT    NOT NULL,
    zip        TEXT    NOT NULL,
    owner      TEXT    NOT NULL,
    fields     TEXT    NOT NULL CHECK (json_valid(fields)),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE INDEX contacts_page ON contacts (created_at, id);

CREATE TABLE enrollments (
    id              TEXT    NOT NULL PRIMARY KEY,
    cadence_id      TEXT    NOT NULL REFERENCES cadences (id),
    cadence_version INTEGER NOT NULL,
    contact_id      TEXT    NOT NULL REFERENCES contacts (id),
    status          TEXT    NOT NULL CHECK (status IN ('active', 'completed', 'stopped')),
    created_at      INTEGER NOT NULL,
    stopped_at      INTEGER,
    stop_reason     TEXT    NOT NULL DEFAULT '',
    FOREIGN KEY (cadence_id, cadence_version) REFERENCES cadence_versions (cadence_id, version),
    CHECK ((status = 'active') = (stopped_at IS NULL))
) STRICT;

-- One active enrollment per contact and cadence; it also serves the count of
-- a cadence's active enrollments.
CREATE UNIQUE INDEX enrollments_one_active ON enrollments (cadence_id, contact_id) WHERE status = 'active';
CREATE INDEX enrollments_cadence ON enrollments (cadence_id, created_at);
CREATE INDEX enrollments_contact ON enrollments (contact_id, created_at);

CREATE TABLE actions (
    id               TEXT    NOT NULL PRIMARY KEY,
    enrollment_id    TEXT    NOT NULL REFERENCES enrollments (id),
    cadence_id       TEXT    NOT NULL REFERENCES cadences (id),
    step             INTEGER NOT NULL CHECK (step >= 1),
    type             TEXT    NOT NULL CHECK (type IN ('call', 'sms')),
    due_at           INTEGER NOT NULL,
    state            TEXT    NOT NULL CHECK (state IN ('scheduled', 'processing', 'completed', 'cancelled')),
    attempt          INTEGER NOT NULL CHECK (attempt >= 1),
    lease_owner      TEXT    NOT NULL DEFAULT '',
    lease_expires_at INTEGER,
    created_at       INTEGER NOT NULL,
    completed_at     INTEGER,
    disposition      TEXT    NOT NULL DEFAULT ''
) STRICT;

-- The scheduler claims scheduled rows in due order; the rescuer finds
-- expired leases; stopping an enrollment or a cadence cancels its scheduled
-- rows; stats count and date the completed rows of a cadence.
CREATE INDEX actions_due ON actions (due_at, id) WHERE state = 'scheduled';
CREATE INDEX actions_lease ON actions (lease_expires_at) WHERE state = 'processing';
CREATE INDEX actions_enrollment ON actions (enrollment_id, state);
CREATE INDEX actions_cadence ON actions (cadence_id, state, completed_at);
