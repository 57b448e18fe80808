import { newId } from '@tidemark/core';

/** A column of the adapter's events table, as the database describes it. */
export interface ColumnInfo {
  name: string;
  /** Declared type, lower case (`integer`, `text`, `jsonb`, `timestamp with time zone` …). */
  type: string;
  /** NOT NULL and no default or generated value: an INSERT must supply it. */
  required: boolean;
  /** Computed by the database (GENERATED ALWAYS): never written. */
  generated: boolean;
}

/** What one stored event consists of, before it becomes a row. */
export interface EventRowInput {
  streamId: string;
  version: number;
  type: string;
  dataJson: string;
}

export type Role = 'stream' | 'category' | 'version' | 'id' | 'type' | 'schemaVersion' | 'data' | 'metadata' | 'recordedAt' | 'position';

// Column names the adapters may choose for each part of the envelope (DESIGN.md §3).
const roleNames: Record<Role, readonly string[]> = {
  stream: ['stream_id', 'stream', 'stream_name'],
  category: ['category', 'stream_category'],
  version: ['version', 'stream_version', 'stream_position'],
  id: ['id', 'event_id', 'message_id'],
  type: ['type', 'event_type', 'message_type'],
  schemaVersion: ['schema_version', 'event_schema_version'],
  data: ['data', 'payload', 'event_data', 'data_json'],
  metadata: ['metadata', 'meta', 'metadata_json'],
  recordedAt: ['recorded_at', 'created_at', 'timestamp', 'recorded_at_ms'],
  position: ['position', 'global_position', 'seq', 'sequence'],
};

export interface EventRowShape {
  /** Columns the baseline writes, in parameter order. */
  columns: string[];
  /** The parameters of one row, in `columns` order. */
  values(input: EventRowInput): unknown[];
  /** The column playing `role`, for the baselines' SELECTs. */
  column(role: Role): string;
}

/**
 * Builds the row a raw-driver baseline inserts from the adapter's own table description, so the
 * baseline writes the same columns with the same JSON text as the adapter without this file
 * hard-coding the adapter's schema. A generated position (INTEGER PRIMARY KEY, identity, serial)
 * is left to the database exactly as the adapter leaves it; one the adapter computes itself is
 * filled from a local counter, which is cheaper than anything an adapter can do.
 */
export function eventRowShape(table: readonly ColumnInfo[]): EventRowShape {
  const producers: Array<(input: EventRowInput) => unknown> = [];
  const columns: string[] = [];
  const byRole = new Map<Role, string>();
  let position = 0;
  for (const column of table) {
    if (column.generated) continue;
    const role = (Object.keys(roleNames) as Role[]).find((r) => roleNames[r].includes(column.name));
    if (role === 'position' && !column.required) continue;
    if (role === undefined) {
      if (column.required) throw new Error(`events column ${column.name} (${column.type}) is unknown to bench/src/eventRow.ts`);
      continue;
    }
    columns.push(column.name);
    byRole.set(role, column.name);
    producers.push(producerFor(role, column.type, () => ++position));
  }
  return {
    columns,
    values: (input) => producers.map((produce) => produce(input)),
    column(role) {
      const name = byRole.get(role);
      if (name === undefined) throw new Error(`the events table has no ${role} column (looked for ${roleNames[role].join(', ')})`);
      return name;
    },
  };
}

function producerFor(role: Role, type: string, nextPosition: () => number): (input: EventRowInput) => unknown {
  switch (role) {
    case 'stream':
      return (e) => e.streamId;
    case 'category':
      return (e) => {
        const dash = e.streamId.indexOf('-');
        return dash === -1 ? e.streamId : e.streamId.slice(0, dash);
      };
    case 'version':
      return (e) => e.version;
    case 'id':
      // The adapters' own id generator: UUIDv7 costs a little more than randomUUID.
      return () => newId();
    case 'type':
      return (e) => e.type;
    case 'schemaVersion':
      return () => 1;
    case 'data':
      return (e) => e.dataJson;
    case 'metadata':
      return () => '{}';
    case 'recordedAt':
      return /int|real|numeric|double/.test(type) ? () => Date.now() : () => new Date().toISOString();
    case 'position':
      return nextPosition;
  }
}
