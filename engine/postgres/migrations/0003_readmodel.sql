-- 0003: the operators' read model. The action, enrollment and do-not-call
-- listings page by (created_at, key); these indexes serve those pages, so a
-- page of completed actions reads its rows in order instead of sorting the
-- whole table.

CREATE INDEX actions_state_page ON actions (state, created_at, id);
CREATE INDEX enrollments_page ON enrollments (created_at, id);
CREATE INDEX dnc_page ON dnc (created_at, phone);
