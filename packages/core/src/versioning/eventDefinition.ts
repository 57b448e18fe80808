import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { RecordedEvent } from '../domain/event.js';
import { assertValidName } from '../eventStore/prepareAppend.js';
import { UpcasterChainError } from './versioningErrors.js';

/**
 * Turns the data of version n into the data of version n + 1. Pure: it runs on every read.
 * `event` is the envelope at version n (its metadata and recordedAt may help).
 */
// biome-ignore lint/suspicious/noExplicitAny: an upcaster takes the stored JSON, whose type only it knows.
export type Upcaster = (data: any, event: RecordedEvent) => unknown;

/** One event an upcaster splits into, or renames to. */
export interface UpcastEvent {
  type: string;
  data: unknown;
  /** Version of `data` in its own type's chain (from there it is upcast further). Default 1. */
  schemaVersion?: number;
}

/** A retired type: its events are read as other events (a rename is one, a split several). */
export interface EventReplacement {
  /** Every type `events` may produce: lets a `readAll({ types })` filter on a new name find the stored old one. */
  types: readonly string[];
  /** Runs after the retired type's own chain, on its latest version. */
  // biome-ignore lint/suspicious/noExplicitAny: see Upcaster.
  events(data: any, event: RecordedEvent): UpcastEvent | readonly UpcastEvent[];
}

export interface EventDefinition {
  /**
   * The versions of the type's data, contiguous from 1, each with its schema (any Standard
   * Schema: zod 4, Valibot, ArkType) or null for a version that is not validated. The highest
   * is the version new events are written as and every reader receives.
   */
  versions: Readonly<Record<number, StandardSchemaV1 | null>>;
  /**
   * `upcasters[n]` turns version n into n + 1. A step without an upcaster declares version
   * n + 1 backward compatible: it reads n's data as it is, which `registerWith` checks against
   * the stored events of version n.
   */
  upcasters?: Readonly<Record<number, Upcaster>>;
  /** Retires the type: its events are read as these (rename, split). */
  becomes?: EventReplacement;
}

/** A definition checked into one chain: index v holds version v's schema and its upcaster to v + 1. */
export interface UpcastChain {
  type: string;
  latest: number;
  schemas: ReadonlyArray<StandardSchemaV1 | null>;
  upcasters: ReadonlyArray<Upcaster | undefined>;
  becomes: EventReplacement | undefined;
}

function versionNumber(key: string, type: string, what: string): number {
  const version = Number(key);
  if (!Number.isSafeInteger(version) || version < 1 || String(version) !== key) {
    throw new UpcasterChainError(`${type}: ${what} '${key}' is not a version (a whole number ≥ 1)`, { type, key });
  }
  return version;
}

function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  const standard = (value as Partial<StandardSchemaV1> | null)?.['~standard'];
  return typeof standard?.validate === 'function';
}

/** Checks a definition at registration: a hole in the versions or an upcaster to nowhere is refused here, never met on read. */
export function toUpcastChain(type: string, definition: EventDefinition): UpcastChain {
  assertValidName(type, 'event type');
  if (definition === null || typeof definition !== 'object' || definition.versions === null || typeof definition.versions !== 'object') {
    throw new UpcasterChainError(`${type}: a definition needs its versions ({ 1: schema, 2: schema … })`, { type });
  }
  const versions = Object.keys(definition.versions)
    .map((key) => versionNumber(key, type, 'versions key'))
    .sort((a, b) => a - b);
  if (versions.length === 0) throw new UpcasterChainError(`${type}: declare at least version 1`, { type });
  const latest = versions[versions.length - 1] as number;
  const schemas: Array<StandardSchemaV1 | null> = [null];
  for (let version = 1; version <= latest; version++) {
    if (!versions.includes(version)) {
      const before = versions.filter((v) => v < version).pop();
      const after = versions.find((v) => v > version);
      throw new UpcasterChainError(`${type}: the chain has a hole, v${before} → v${after} without v${version}`, { type, missing: version });
    }
    const schema = definition.versions[version];
    if (schema !== null && !isStandardSchema(schema)) {
      throw new UpcasterChainError(`${type} v${version}: the schema must be a Standard Schema (zod 4, Valibot, ArkType…) or null`, {
        type,
        version,
      });
    }
    schemas.push(schema ?? null);
  }
  const upcasters: Array<Upcaster | undefined> = [];
  for (const [key, upcaster] of Object.entries(definition.upcasters ?? {})) {
    const from = versionNumber(key, type, 'upcasters key');
    if (from >= latest) {
      throw new UpcasterChainError(
        `${type}: the upcaster from v${from} leads to v${from + 1}, which is not declared (latest: v${latest})`,
        {
          type,
          from,
          latest,
        },
      );
    }
    if (typeof upcaster !== 'function')
      throw new UpcasterChainError(`${type}: the upcaster from v${from} is not a function`, { type, from });
    upcasters[from] = upcaster;
  }
  const becomes = definition.becomes;
  if (becomes !== undefined) {
    if (!Array.isArray(becomes.types) || becomes.types.length === 0 || typeof becomes.events !== 'function') {
      throw new UpcasterChainError(`${type}: becomes needs the types it produces and an events function`, { type });
    }
    for (const target of becomes.types) assertValidName(target, `${type} becomes type`);
  }
  return { type, latest, schemas, upcasters, becomes };
}
