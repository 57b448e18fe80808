import { ValidationError } from '../domain/errors.js';
import type { NewEvent, RecordedEvent } from '../domain/event.js';
import { type EventDefinition, toUpcastChain, type UpcastChain } from './eventDefinition.js';
import type { TypeRenamingStage } from './eventPipeline.js';
import type { EventSchemaStore } from './eventSchemaStore.js';
import { type RegistrationResult, registerEventSchemas } from './registerEventSchemas.js';
import type { JsonSchemaConverter } from './schemaFingerprint.js';
import { createUpcast, storedTypesFor } from './upcastEvents.js';
import { createValidation } from './validateNewEvents.js';
import { UpcasterChainError } from './versioningErrors.js';

export interface EventRegistryOptions {
  /** The registry is in force: appending a type it does not know is refused. Default false (unknown types pass untouched). */
  strict?: boolean;
  /** Also check every event read against its latest schema (after upcasting). Default false: the append already did. */
  validateOnRead?: boolean;
  /** For schemas without the Standard JSON Schema interface: how to get their JSON Schema (e.g. zod's `z.toJSONSchema`). */
  toJsonSchema?: JsonSchemaConverter;
  /** Stored events per older version that `registerWith` checks a backward-compatible version against. Default 1000 (the latest ones). */
  compatibilitySample?: number;
}

/** What `registerWith` accepts: a store exposing its schema table, or that table itself. */
export type SchemaRegistryTarget = { readonly eventSchemas?: EventSchemaStore | undefined } | EventSchemaStore;

/**
 * Event types, their versions, schemas and upcasters, in one place. Hand `registry.stage` to
 * the store (`stages: [registry.stage]`): appends are validated (and stamped with the latest
 * version when they name none), reads are upcast so that handlers only see latest versions.
 */
export interface EventRegistry {
  /** Declares a type (once). Refused with UpcasterChainError when its chain has a hole or an upcaster leads nowhere. */
  event(type: string, definition: EventDefinition): EventRegistry;
  /** The pipeline stage to list FIRST in a store's `stages` (before an encryption stage). */
  readonly stage: TypeRenamingStage;
  /** The latest version of a type; undefined when it is not registered. */
  latestVersion(type: string): number | undefined;
  /** Validates new events as an append would (what the stage's write does), without a store. */
  validate(events: readonly NewEvent[], streamId: string): readonly NewEvent[] | Promise<readonly NewEvent[]>;
  /** Upcasts recorded events as every read does (what the stage's read does), without a store. */
  upcast(events: readonly RecordedEvent[]): readonly RecordedEvent[] | Promise<readonly RecordedEvent[]>;
  /**
   * Records every declared (type, version) in the store's schema registry. A version new to
   * the store must read every older one — through upcasters, or, for a step without one, by
   * the latest stored events of the older version matching the new schema — and a version
   * already there must have the same schema; IncompatibleSchemaError (listing what failed)
   * otherwise, and nothing is recorded.
   */
  registerWith(target: SchemaRegistryTarget): Promise<RegistrationResult>;
}

export function createEventRegistry(options: EventRegistryOptions = {}): EventRegistry {
  const sampleSize = options.compatibilitySample ?? 1000;
  if (!Number.isSafeInteger(sampleSize) || sampleSize < 1) {
    throw new ValidationError('compatibilitySample must be a whole number ≥ 1', { field: 'compatibilitySample' });
  }
  const chains = new Map<string, UpcastChain>();
  const validate = createValidation(chains, { strict: options.strict ?? false });
  const upcast = createUpcast(chains, { validateOnRead: options.validateOnRead ?? false });

  const stage: TypeRenamingStage = {
    write: validate,
    read: upcast,
    storedTypesFor: (types) => storedTypesFor(chains, types),
  };

  const registry: EventRegistry = {
    event(type, definition) {
      if (chains.has(type)) {
        // Two declarations would mean two upcasters (or two schemas) for the same step.
        throw new UpcasterChainError(`${type} is already declared: declare all its versions and upcasters in one event() call`, { type });
      }
      chains.set(type, toUpcastChain(type, definition));
      return registry;
    },
    stage,
    latestVersion: (type) => chains.get(type)?.latest,
    validate,
    upcast,
    async registerWith(target) {
      const schemas =
        'list' in target && typeof target.list === 'function'
          ? (target as EventSchemaStore)
          : (target as { eventSchemas?: EventSchemaStore }).eventSchemas;
      if (!schemas)
        throw new ValidationError('registerWith needs a store with a schema registry (store.eventSchemas) or an EventSchemaStore');
      return registerEventSchemas(schemas, chains, {
        sampleSize,
        upcast,
        ...(options.toJsonSchema && { toJsonSchema: options.toJsonSchema }),
      });
    },
  };
  return registry;
}
