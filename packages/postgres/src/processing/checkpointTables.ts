import { quoteIdentifier } from '../schema/schemaName.js';

const checkpointColumns =
  'name, position, updated_at, failed_position, failed_event_id, failed_event_type, failed_stream_id, error, attempts, failed_at';
const deadLetterColumns = 'projection, position, event_id, event_type, stream_id, error, attempts, parked_at, event';

/**
 * The checkpoint store's migration step: its two tables in the store's schema.
 *
 * Stores created before this step made these tables at run time, unqualified, so they live in
 * whatever schema the application's search_path named. IF NOT EXISTS adopts tables that are
 * already in the store's schema; tables found elsewhere through the migrating connection's
 * search_path (the same path the old code wrote through) are copied in and left in place —
 * several stores may have shared them. Their columns are the ones below, unchanged.
 */
export function checkpointTablesSql(schema: string): string {
  const s = quoteIdentifier(schema);
  const copy = (table: string, columns: string, key: string) => `
  old := to_regclass('${table}');
  IF old IS NOT NULL AND old <> '${s}.${table}'::regclass THEN
    EXECUTE format('INSERT INTO ${s}.${table} (${columns}) SELECT ${columns} FROM %s ON CONFLICT (${key}) DO NOTHING', old);
  END IF;`;
  return `
CREATE TABLE IF NOT EXISTS ${s}.tidemark_checkpoints (
  name text PRIMARY KEY,
  position bigint NOT NULL,
  updated_at text NOT NULL,
  failed_position bigint,
  failed_event_id text,
  failed_event_type text,
  failed_stream_id text,
  error text,
  attempts integer,
  failed_at text
);

CREATE TABLE IF NOT EXISTS ${s}.tidemark_dead_letters (
  projection text NOT NULL,
  position bigint NOT NULL,
  event_id text NOT NULL,
  event_type text NOT NULL,
  stream_id text NOT NULL,
  error text NOT NULL,
  attempts integer NOT NULL,
  parked_at text NOT NULL,
  event text NOT NULL,
  PRIMARY KEY (projection, position)
);

DO $copy$
DECLARE
  old regclass;
BEGIN${copy('tidemark_checkpoints', checkpointColumns, 'name')}${copy('tidemark_dead_letters', deadLetterColumns, 'projection, position')}
END
$copy$;
`;
}
