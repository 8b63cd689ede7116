-- 0004: live agents — teams, queues, agents and the history of contact
-- owners. Durations are bigint nanoseconds (engine.Duration, exact).

CREATE TABLE teams (
    id          uuid        NOT NULL PRIMARY KEY,
    name        text        NOT NULL UNIQUE,
    description text        NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

CREATE INDEX teams_page ON teams (created_at, id);

CREATE TABLE queues (
    name        text        NOT NULL PRIMARY KEY,
    description text        NOT NULL,
    wrap_up_ns  bigint      NOT NULL CHECK (wrap_up_ns >= 0),
    max_wait_ns bigint      NOT NULL CHECK (max_wait_ns >= 0),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

CREATE INDEX queues_page ON queues (created_at, name);

-- team_id is NULL for an agent without a team; the foreign key keeps a team
-- with agents from being deleted.
CREATE TABLE agents (
    id          uuid        NOT NULL PRIMARY KEY,
    name        text        NOT NULL,
    team_id     uuid        REFERENCES teams (id),
    destination text        NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

CREATE INDEX agents_page ON agents (created_at, id);
CREATE INDEX agents_team_page ON agents (team_id, created_at, id) WHERE team_id IS NOT NULL;

-- The queues of an agent, in the agent's order (position). agent_created_at
-- copies the agent's creation time (which never changes) so that a page of a
-- queue's agents reads agent_queues_page in order instead of sorting.
CREATE TABLE agent_queues (
    agent_id         uuid        NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    queue            text        NOT NULL REFERENCES queues (name),
    position         integer     NOT NULL CHECK (position >= 0),
    agent_created_at timestamptz NOT NULL,
    PRIMARY KEY (agent_id, queue)
);

CREATE INDEX agent_queues_page ON agent_queues (queue, agent_created_at, agent_id);

-- One row per change of a contact's owner. seq orders a contact's changes
-- as they were made: SetContactOwner locks the contact row first, so one
-- contact's changes take their seq one after the other. from_agent,
-- to_agent and cadence_id are '' for none and have no foreign key: the
-- history outlives a deleted agent or cadence.
CREATE TABLE owner_changes (
    seq        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id         uuid        NOT NULL UNIQUE,
    contact_id uuid        NOT NULL REFERENCES contacts (id),
    from_agent text        NOT NULL,
    to_agent   text        NOT NULL,
    reason     text        NOT NULL CHECK (reason IN ('round_robin', 'first_to_answer', 'api')),
    cadence_id text        NOT NULL,
    at         timestamptz NOT NULL
);

CREATE INDEX owner_changes_contact ON owner_changes (contact_id, seq);
