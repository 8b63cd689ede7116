-- 0004: live agents — teams, queues, agents and the history of contact
-- owners. Durations are INTEGER nanoseconds (engine.Duration, exact).

CREATE TABLE teams (
    id          TEXT    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    description TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX teams_page ON teams (created_at, id);

CREATE TABLE queues (
    name        TEXT    NOT NULL PRIMARY KEY,
    description TEXT    NOT NULL,
    wrap_up_ns  INTEGER NOT NULL CHECK (wrap_up_ns >= 0),
    max_wait_ns INTEGER NOT NULL CHECK (max_wait_ns >= 0),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX queues_page ON queues (created_at, name);

-- team_id is NULL for an agent without a team; the foreign key keeps a team
-- with agents from being deleted.
CREATE TABLE agents (
    id          TEXT    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL,
    team_id     TEXT    REFERENCES teams (id),
    destination TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX agents_page ON agents (created_at, id);
CREATE INDEX agents_team_page ON agents (team_id, created_at, id) WHERE team_id IS NOT NULL;

-- The queues of an agent, in the agent's order (position). agent_created_at
-- copies the agent's creation time (which never changes) so that a page of a
-- queue's agents reads agent_queues_page in order instead of sorting.
CREATE TABLE agent_queues (
    agent_id         TEXT    NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    queue            TEXT    NOT NULL REFERENCES queues (name),
    position         INTEGER NOT NULL CHECK (position >= 0),
    agent_created_at INTEGER NOT NULL,
    PRIMARY KEY (agent_id, queue)
) STRICT;

CREATE INDEX agent_queues_page ON agent_queues (queue, agent_created_at, agent_id);

-- One row per change of a contact's owner. seq orders a contact's changes
-- as they were made (the contact's write lock serializes them). from_agent,
-- to_agent and cadence_id are '' for none and have no foreign key: the
-- history outlives a deleted agent or cadence.
CREATE TABLE owner_changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT    NOT NULL UNIQUE,
    contact_id TEXT    NOT NULL REFERENCES contacts (id),
    from_agent TEXT    NOT NULL,
    to_agent   TEXT    NOT NULL,
    reason     TEXT    NOT NULL CHECK (reason IN ('round_robin', 'first_to_answer', 'api')),
    cadence_id TEXT    NOT NULL,
    at         INTEGER NOT NULL
) STRICT;

CREATE INDEX owner_changes_contact ON owner_changes (contact_id, seq);
