-- The bookkeeping of embedded migrations.

-- name: migration_lock
-- A session advisory lock per schema: nodes migrating the same schema at
-- once take turns, other schemas (tests) do not wait.
SELECT pg_advisory_lock(hashtext('cadenza.migrate:' || coalesce(current_schema(), '')));

-- name: migration_unlock
SELECT pg_advisory_unlock(hashtext('cadenza.migrate:' || coalesce(current_schema(), '')));

-- name: create_migrations_table
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer     NOT NULL PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- name: migrations_table_exists
SELECT to_regclass('schema_migrations') IS NOT NULL;

-- name: applied_migrations
SELECT version FROM schema_migrations ORDER BY version;

-- name: record_migration
INSERT INTO schema_migrations (version, name) VALUES ($1, $2);
