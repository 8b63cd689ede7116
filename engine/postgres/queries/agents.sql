-- Teams, queues, agents and contact owners (engine.AgentStore).

-- name: insert_team
INSERT INTO teams (id, name, description, created_at, updated_at) VALUES ($1, $2, $3, $4, $4);

-- name: get_team
SELECT id, name, description, created_at, updated_at FROM teams WHERE id = $1;

-- name: list_teams
SELECT id, name, description, created_at, updated_at
FROM teams
WHERE (created_at, id) > ($1::timestamptz, $2::uuid)
ORDER BY created_at, id
LIMIT $3;

-- name: update_team
UPDATE teams SET name = $2, description = $3, updated_at = $4
WHERE id = $1
RETURNING created_at;

-- name: team_exists
-- FOR SHARE: the team cannot be deleted before the agent that names it is
-- written.
SELECT count(*) FROM (SELECT 1 FROM teams WHERE id = $1 FOR SHARE) t;

-- name: delete_team
DELETE FROM teams WHERE id = $1;

-- name: insert_queue
INSERT INTO queues (name, description, wrap_up_ns, max_wait_ns, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $5);

-- name: get_queue
SELECT name, description, wrap_up_ns, max_wait_ns, created_at, updated_at FROM queues WHERE name = $1;

-- name: list_queues
SELECT name, description, wrap_up_ns, max_wait_ns, created_at, updated_at
FROM queues
WHERE (created_at, name) > ($1::timestamptz, $2::text)
ORDER BY created_at, name
LIMIT $3;

-- name: update_queue
UPDATE queues SET description = $2, wrap_up_ns = $3, max_wait_ns = $4, updated_at = $5
WHERE name = $1
RETURNING created_at;

-- name: queue_exists
SELECT count(*) FROM (SELECT 1 FROM queues WHERE name = $1 FOR SHARE) q;

-- name: delete_queue
DELETE FROM queues WHERE name = $1;

-- name: insert_agent
INSERT INTO agents (id, name, team_id, destination, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $5);

-- name: insert_agent_queue
INSERT INTO agent_queues (agent_id, queue, position, agent_created_at) VALUES ($1, $2, $3, $4);

-- name: delete_agent_queues
DELETE FROM agent_queues WHERE agent_id = $1;

-- name: get_agent
-- The queues come as an array in the agent's order.
SELECT a.id, a.name, coalesce(a.team_id::text, ''), a.destination, a.created_at, a.updated_at,
       ARRAY(SELECT q.queue FROM agent_queues q WHERE q.agent_id = a.id ORDER BY q.position)
FROM agents a
WHERE a.id = $1;

-- name: list_agents
SELECT a.id, a.name, coalesce(a.team_id::text, ''), a.destination, a.created_at, a.updated_at,
       ARRAY(SELECT q.queue FROM agent_queues q WHERE q.agent_id = a.id ORDER BY q.position)
FROM agents a
WHERE (a.created_at, a.id) > ($1::timestamptz, $2::uuid)
ORDER BY a.created_at, a.id
LIMIT $3;

-- name: list_agents_by_team
SELECT a.id, a.name, coalesce(a.team_id::text, ''), a.destination, a.created_at, a.updated_at,
       ARRAY(SELECT q.queue FROM agent_queues q WHERE q.agent_id = a.id ORDER BY q.position)
FROM agents a
WHERE a.team_id = $1 AND (a.created_at, a.id) > ($2::timestamptz, $3::uuid)
ORDER BY a.created_at, a.id
LIMIT $4;

-- name: list_agents_by_queue
-- Reads agent_queues_page in order; $2 narrows to a team (NULL for every team).
SELECT a.id, a.name, coalesce(a.team_id::text, ''), a.destination, a.created_at, a.updated_at,
       ARRAY(SELECT q.queue FROM agent_queues q WHERE q.agent_id = a.id ORDER BY q.position)
FROM agent_queues aq
JOIN agents a ON a.id = aq.agent_id
WHERE aq.queue = $1
  AND (aq.agent_created_at, aq.agent_id) > ($3::timestamptz, $4::uuid)
  AND ($2::uuid IS NULL OR a.team_id = $2::uuid)
ORDER BY aq.agent_created_at, aq.agent_id
LIMIT $5;

-- name: update_agent
UPDATE agents SET name = $2, team_id = $3, destination = $4, updated_at = $5
WHERE id = $1
RETURNING created_at;

-- name: lock_agent
-- Locks the agent so that concurrent updates replace its queues one after
-- the other.
SELECT created_at FROM agents WHERE id = $1 FOR UPDATE;

-- name: agent_exists
SELECT count(*) FROM (SELECT 1 FROM agents WHERE id = $1 FOR SHARE) a;

-- name: delete_agent
DELETE FROM agents WHERE id = $1;

-- name: lock_contact_owner
-- Locks the contact: its owner changes, and their seq, follow one another.
SELECT owner FROM contacts WHERE id = $1 FOR UPDATE;

-- name: contact_exists
SELECT count(*) FROM contacts WHERE id = $1;

-- name: set_contact_owner
UPDATE contacts SET owner = $2, updated_at = $3 WHERE id = $1;

-- name: insert_owner_change
INSERT INTO owner_changes (id, contact_id, from_agent, to_agent, reason, cadence_id, at)
VALUES ($1, $2, $3, $4, $5, $6, $7);

-- name: owner_changes
SELECT id, contact_id, from_agent, to_agent, reason, cadence_id, at
FROM owner_changes
WHERE contact_id = $1
ORDER BY seq;
