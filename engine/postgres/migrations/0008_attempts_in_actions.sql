-- 0008: an attempt is its action row. The attempts table repeated the
-- action's id, enrollment, channel and claim time, and cost every claimed
-- action an insert with three foreign-key checks (one a row lock on the
-- enrollment), then an update or a delete with its outcome. Now the claim
-- sets counted on the action, an outcome that never left clears it, and
-- the harassment history reads actions through actions_attempts.
--
-- contact_id is the enrollment's contact, copied by every insert from the
-- enrollment it names (which has the foreign key); it has none of its own,
-- as the copy cannot disagree and the check would lock the contact row on
-- every new action.

ALTER TABLE actions
    ADD COLUMN contact_id uuid,
    -- counted: this action is an attempt the harassment limits count, from
    -- its claim until an outcome that never reached the contact, or the
    -- rescue of a lease that was never handed to the dialer.
    ADD COLUMN counted    boolean NOT NULL DEFAULT false;

UPDATE actions a SET contact_id = e.contact_id FROM enrollments e WHERE e.id = a.enrollment_id;
UPDATE actions a SET counted = true, started_at = t.at FROM attempts t WHERE t.action_id = a.id;

ALTER TABLE actions ALTER COLUMN contact_id SET NOT NULL;

CREATE INDEX actions_attempts ON actions (contact_id, started_at) WHERE counted;

DROP TABLE attempts;
