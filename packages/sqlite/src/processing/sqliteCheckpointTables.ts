/**
 * The checkpoint store's migration step. Stores created before it made these tables at run
 * time, with these very columns, in the same file: IF NOT EXISTS adopts them with their rows.
 */
export const sqliteCheckpointTables: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS tidemark_checkpoints (
    name TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    updated_at TEXT NOT NULL,
    failed_position BIGINT,
    failed_event_id TEXT,
    failed_event_type TEXT,
    failed_stream_id TEXT,
    error TEXT,
    attempts INTEGER,
    failed_at TEXT
  )`,
  `CREATE TABLE IF NOT EXISTS tidemark_dead_letters (
    projection TEXT NOT NULL,
    position BIGINT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    stream_id TEXT NOT NULL,
    error TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    parked_at TEXT NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (projection, position)
  )`,
];
