-- 0006: an API key of role agent may be bound to one agent (APIKey.AgentID).
-- No foreign key: deleting the agent leaves the key in place, and the API
-- refuses it for agent routes from then on (403) instead of the delete
-- failing or the key silently becoming unbound.

ALTER TABLE api_keys
    ADD COLUMN agent_id uuid,
    ADD CONSTRAINT api_keys_agent_role CHECK (agent_id IS NULL OR role = 'agent');
