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

-- One pass over actions: every row is rewritten once. 1,000,000 actions
-- (750,000 attempts) took 29 s on the two-core test box, against 69 s for
-- two passes; the table is locked meanwhile, so a node starting on a large
-- database waits that long before it dials.
UPDATE actions a
SET contact_id = x.contact_id, counted = x.at IS NOT NULL, started_at = coalesce(x.at, a.started_at)
FROM (SELECT b.id, e.contact_id, t.at
      FROM actions b
      JOIN enrollments e ON e.id = b.enrollment_id
      LEFT JOIN attempts t ON t.action_id = b.id) x
WHERE x.id = a.id;

ALTER TABLE actions ALTER COLUMN contact_id SET NOT NULL;

CREATE INDEX actions_attempts ON actions (contact_id, started_at) WHERE counted;

DROP TABLE attempts;
