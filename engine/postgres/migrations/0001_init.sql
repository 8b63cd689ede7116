-- 0001: the first schema. Identifiers are UUIDv7, times timestamptz
-- (microseconds), definitions jsonb.

CREATE TABLE cadences (
    id         uuid        NOT NULL PRIMARY KEY,
    name       text        NOT NULL,
    status     text        NOT NULL CHECK (status IN ('draft', 'active', 'inactive', 'archived')),
    version    integer     NOT NULL CHECK (version >= 1),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    -- A deleted cadence is hidden, not removed: its enrollments and actions
    -- stay as the history that harassment limits and analytics count.
    deleted_at timestamptz
);

CREATE INDEX cadences_page ON cadences (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX cadences_status_page ON cadences (status, created_at, id) WHERE deleted_at IS NULL;

CREATE TABLE cadence_versions (
    cadence_id uuid        NOT NULL REFERENCES cadences (id),
    version    integer     NOT NULL CHECK (version >= 1),
    definition jsonb       NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (cadence_id, version)
);

CREATE FUNCTION cadence_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'cadence versions are immutable';
END;
$$;

CREATE TRIGGER cadence_versions_immutable BEFORE UPDATE ON cadence_versions
    FOR EACH ROW EXECUTE FUNCTION cadence_versions_immutable();

CREATE TABLE templates (
    id          uuid        NOT NULL PRIMARY KEY,
    name        text        NOT NULL,
    description text        NOT NULL,
    definition  jsonb       NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE INDEX templates_page ON templates (created_at, id);

CREATE TABLE api_keys (
    id           uuid        NOT NULL PRIMARY KEY,
    name         text        NOT NULL,
    role         text        NOT NULL CHECK (role IN ('admin', 'manager', 'agent', 'viewer')),
    prefix       text        NOT NULL,
    hash         bytea       NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz
);

CREATE INDEX api_keys_page ON api_keys (created_at, id);

-- api_key_id has no foreign key: the bootstrap admin key from the
-- environment is not a row, and its responses are stored all the same.
CREATE TABLE idempotency (
    api_key_id   text        NOT NULL,
    key          text        NOT NULL,
    request_hash bytea       NOT NULL,
    status       integer     NOT NULL,
    content_type text        NOT NULL,
    body         bytea       NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (api_key_id, key)
);

CREATE INDEX idempotency_created ON idempotency (created_at);

CREATE TABLE assets (
    id          uuid        NOT NULL PRIMARY KEY,
    name        text        NOT NULL UNIQUE,
    duration_ms bigint      NOT NULL CHECK (duration_ms >= 0),
    pcm         bytea       NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE INDEX assets_page ON assets (created_at, id);

CREATE TABLE contacts (
    id         uuid        NOT NULL PRIMARY KEY,
    phone      text        NOT NULL UNIQUE,
    first_name text        NOT NULL,
    last_name  text        NOT NULL,
    timezone   text        NOT NULL,
    state      text        NOT NULL,
    zip        text        NOT NULL,
    owner      text        NOT NULL,
    fields     jsonb       NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE INDEX contacts_page ON contacts (created_at, id);

CREATE TABLE enrollments (
    id              uuid        NOT NULL PRIMARY KEY,
    cadence_id      uuid        NOT NULL REFERENCES cadences (id),
    cadence_version integer     NOT NULL,
    contact_id      uuid        NOT NULL REFERENCES contacts (id),
    status          text        NOT NULL CHECK (status IN ('active', 'completed', 'stopped')),
    created_at      timestamptz NOT NULL,
    stopped_at      timestamptz,
    stop_reason     text        NOT NULL DEFAULT '',
    FOREIGN KEY (cadence_id, cadence_version) REFERENCES cadence_versions (cadence_id, version),
    CHECK ((status = 'active') = (stopped_at IS NULL))
);

-- One active enrollment per contact and cadence; it also serves the count of
-- a cadence's active enrollments.
CREATE UNIQUE INDEX enrollments_one_active ON enrollments (cadence_id, contact_id) WHERE status = 'active';
CREATE INDEX enrollments_cadence ON enrollments (cadence_id, created_at);
CREATE INDEX enrollments_contact ON enrollments (contact_id, created_at);

CREATE TABLE actions (
    id               uuid        NOT NULL PRIMARY KEY,
    enrollment_id    uuid        NOT NULL REFERENCES enrollments (id),
    cadence_id       uuid        NOT NULL REFERENCES cadences (id),
    step             integer     NOT NULL CHECK (step >= 1),
    type             text        NOT NULL CHECK (type IN ('call', 'sms')),
    due_at           timestamptz NOT NULL,
    state            text        NOT NULL CHECK (state IN ('scheduled', 'processing', 'completed', 'cancelled')),
    attempt          integer     NOT NULL CHECK (attempt >= 1),
    lease_owner      text        NOT NULL DEFAULT '',
    lease_expires_at timestamptz,
    created_at       timestamptz NOT NULL,
    completed_at     timestamptz,
    disposition      text        NOT NULL DEFAULT ''
);

-- The scheduler claims scheduled rows in due order (FOR UPDATE SKIP LOCKED);
-- the rescuer finds expired leases; stopping an enrollment or a cadence
-- cancels its scheduled rows; stats count and date the completed rows of a
-- cadence.
CREATE INDEX actions_due ON actions (due_at, id) WHERE state = 'scheduled';
CREATE INDEX actions_lease ON actions (lease_expires_at) WHERE state = 'processing';
CREATE INDEX actions_enrollment ON actions (enrollment_id, state);
CREATE INDEX actions_cadence ON actions (cadence_id, state, completed_at);
