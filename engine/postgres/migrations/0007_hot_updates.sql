-- 0007: leave room in every page of actions and attempts, so the updates
-- that change no indexed column (the dialing mark, a lease extension, an
-- attempt's disposition) stay on their page as heap-only tuples and write
-- no index entries.

ALTER TABLE actions SET (fillfactor = 80);
ALTER TABLE attempts SET (fillfactor = 80);
