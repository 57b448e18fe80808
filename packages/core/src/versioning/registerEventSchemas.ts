import type { RecordedEvent } from '../domain/event.js';
import type { UpcastChain } from './eventDefinition.js';
import type { EventSchemaStore, RegisteredEventSchema } from './eventSchemaStore.js';
import { type JsonSchemaConverter, jsonSchemaOf, schemaFingerprint } from './schemaFingerprint.js';
import { validateWith } from './schemaIssues.js';
import { type CompatibilityFailure, EventSchemaError, IncompatibleSchemaError } from './versioningErrors.js';

export interface RegistrationResult {
  /** The (type, version) pairs this call recorded. */
  added: Array<{ type: string; version: number }>;
  /** How many were registered already, with the same schema. */
  unchanged: number;
}

interface RegisterOptions {
  sampleSize: number;
  toJsonSchema?: JsonSchemaConverter;
  upcast(events: readonly RecordedEvent[]): readonly RecordedEvent[] | Promise<readonly RecordedEvent[]>;
}

const key = (type: string, version: number) => `${type}\u0000${version}`;

function describe(chains: ReadonlyMap<string, UpcastChain>, convert: JsonSchemaConverter | undefined): RegisteredEventSchema[] {
  const entries: RegisteredEventSchema[] = [];
  for (const chain of chains.values()) {
    for (let version = 1; version <= chain.latest; version++) {
      const schema = chain.schemas[version];
      const jsonSchema = schema ? (jsonSchemaOf(schema, convert) ?? null) : null;
      entries.push({ type: chain.type, version, fingerprint: schemaFingerprint(jsonSchema), jsonSchema });
    }
  }
  return entries;
}

/**
 * Older versions whose way to the latest crosses a step without an upcaster, where the new
 * version must read the old data as it is: those are checked against stored events. A way made
 * of upcasters only is trusted (the upcasters are the migration).
 */
function versionsToSample(chain: UpcastChain, newVersions: ReadonlySet<number>): number[] {
  const versions: number[] = [];
  for (let from = 1; from < chain.latest; from++) {
    let crossesNew = false;
    let compatibleStep = false;
    for (let step = from; step < chain.latest; step++) {
      if (!chain.upcasters[step]) compatibleStep = true;
      if (newVersions.has(step + 1)) crossesNew = true;
    }
    if (crossesNew && compatibleStep) versions.push(from);
  }
  return versions;
}

async function checkSample(
  schemas: EventSchemaStore,
  chain: UpcastChain,
  from: number,
  options: RegisterOptions,
  failures: CompatibilityFailure[],
): Promise<void> {
  const latest = chain.latest;
  const failure = (reason: string, extra: Partial<CompatibilityFailure> = {}) =>
    failures.push({ type: chain.type, version: latest, fromVersion: from, reason, ...extra });
  let sample: readonly RecordedEvent[];
  try {
    sample = await schemas.sample(chain.type, from, options.sampleSize);
    // The store's own stages may already have upcast them; any still behind are brought up here.
    sample = await options.upcast(sample);
  } catch (error) {
    if (!(error instanceof EventSchemaError)) throw error;
    failure('cannot read a stored event', {
      ...(typeof error.details.eventId === 'string' && { eventId: error.details.eventId }),
      issues: error.details.issues as CompatibilityFailure['issues'],
    });
    return;
  }
  const schema = chain.schemas[latest];
  if (!schema) {
    if (sample.length > 0) failure(`has no upcaster from v${from} and no schema to check v${from}'s stored events against`);
    return;
  }
  for (const event of sample) {
    if (event.type !== chain.type) continue;
    const issues = await validateWith(schema, event.data);
    if (issues.length > 0) failure(`cannot read stored event ${event.id} as it is (no upcaster on the way)`, { eventId: event.id, issues });
  }
}

/** See EventRegistry.registerWith. */
export async function registerEventSchemas(
  schemas: EventSchemaStore,
  chains: ReadonlyMap<string, UpcastChain>,
  options: RegisterOptions,
): Promise<RegistrationResult> {
  const declared = describe(chains, options.toJsonSchema);
  const stored = new Map((await schemas.list()).map((entry) => [key(entry.type, entry.version), entry]));
  const failures: CompatibilityFailure[] = [];
  const additions: RegisteredEventSchema[] = [];
  const differs = (entry: RegisteredEventSchema, existing: RegisteredEventSchema | undefined) =>
    existing?.fingerprint && entry.fingerprint && existing.fingerprint !== entry.fingerprint;
  for (const entry of declared) {
    const existing = stored.get(key(entry.type, entry.version));
    if (!existing) additions.push(entry);
    else if (differs(entry, existing)) {
      failures.push({
        type: entry.type,
        version: entry.version,
        fromVersion: entry.version,
        reason: 'is already registered with a different schema: declare a new version instead of changing this one',
      });
    }
  }
  for (const chain of chains.values()) {
    const newVersions = new Set(additions.filter((entry) => entry.type === chain.type).map((entry) => entry.version));
    if (newVersions.size === 0) continue;
    for (const from of versionsToSample(chain, newVersions)) await checkSample(schemas, chain, from, options, failures);
  }
  if (failures.length > 0) throw new IncompatibleSchemaError(failures);
  if (additions.length > 0) {
    await schemas.add(additions);
    // Another process may have registered the same version meanwhile: it must have agreed.
    const after = new Map((await schemas.list()).map((entry) => [key(entry.type, entry.version), entry]));
    const raced = additions.filter((entry) => differs(entry, after.get(key(entry.type, entry.version))));
    if (raced.length > 0) {
      throw new IncompatibleSchemaError(
        raced.map((entry) => ({
          type: entry.type,
          version: entry.version,
          fromVersion: entry.version,
          reason: 'was registered with a different schema by another process at the same time',
        })),
      );
    }
  }
  return { added: additions.map(({ type, version }) => ({ type, version })), unchanged: declared.length - additions.length };
}
