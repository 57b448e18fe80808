import { ValidationError } from '../domain/errors.js';
import type { RecordedEvent } from '../domain/event.js';
import { type ErrorReporter, warnOnError } from '../eventStore/afterCommitCallbacks.js';
import type { EventStore } from '../eventStore/eventStore.js';
import type { EventStage } from '../versioning/eventStage.js';
import { createKeyCache } from './keyCache.js';
import type { KeyDeletion, KeyStore } from './keyStore.js';
import type { PersonalDataDeclarations } from './personalData.js';
import { valueAt, withValueAt } from './personalDataPaths.js';
import { createPersonalDataStage, type DeclarationIndex, indexDeclarations, redactedMarker } from './personalDataStage.js';

/** The event `forget` appends, so that projections (in every process) learn a subject was forgotten. */
export const subjectForgottenEventType = 'privacy.subject.forgotten';
/** The stream of those events. */
export const forgottenSubjectsStreamId = 'privacy-forgotten';

/** The data of a `privacy.subject.forgotten` event, and what onForgotten listeners receive. */
export interface ForgottenSubject {
  subjectId: string;
  /** The streams whose events held the subject's personal data: their snapshots and cached states are copies to erase. */
  streamIds: string[];
}

export interface ForgetResult extends ForgottenSubject {
  /** 'deleted' the first time; 'already_forgotten' after that (forget is idempotent); 'unknown' for a subject never seen. */
  status: KeyDeletion;
  /** Position of the `privacy.subject.forgotten` event appended this time (none when the key was already gone): wait for it to have read models caught up. */
  position?: bigint;
}

export type ForgottenListener = (forgotten: ForgottenSubject) => void | Promise<void>;

export interface CryptoShreddingOptions {
  keyStore: KeyStore;
  /** Which event types carry personal data, whose, and in which fields (see PersonalDataDeclarations). */
  personalData: PersonalDataDeclarations;
  /**
   * Which outgoing message types — the integration messages you `outbox.add` to a table outbox —
   * carry personal data, whose, and in which fields: the same shape as `personalData`, keyed by
   * message type (`shop.welcome.mail`, or `shop.welcome.mail.v2` for one schema version). They
   * are stored as they are (a broker must read them), not encrypted; `redactOutbox` in an
   * onForgotten listener overwrites these fields of a forgotten subject's stored messages.
   */
  personalMessages?: PersonalDataDeclarations;
  /**
   * How long a key (or its absence) is remembered in memory. This process's own `forget` evicts
   * at once; a forget in ANOTHER process is noticed here within this bound, so it is the bound
   * on how long another process can still decrypt a forgotten subject. Default 5000 ms.
   */
  keyCacheTtlMs?: number;
  /** Keys kept in memory at most. Default 10,000. */
  maxCachedKeys?: number;
  /** Hears about ciphertext that fails authentication (it reads as redacted). Default: a process warning. */
  onError?: ErrorReporter;
}

export interface CryptoShredding {
  /** The event stage: pass it last in the store's `stages` (after upcasting and validation). */
  readonly stage: EventStage;
  /**
   * The store whose log `forget` searches for the subject's streams and appends
   * `privacy.subject.forgotten` to. Separate from the options because the store itself is
   * built with this object's stage.
   */
  attachStore(store: EventStore): void;
  /**
   * Forgets a data subject: destroys its key (every personal field of its events now reads as
   * the redaction marker), finds the streams holding its data, appends
   * `privacy.subject.forgotten` (the first time) and tells the onForgotten listeners, which
   * erase the copies — snapshots, cached states, caches. Idempotent: calling it again re-runs
   * the search and the listeners (a listener that failed the first time gets another go) and
   * appends only an announcement that is missing (a first call that failed after deleting the
   * key). Rejects when a listener fails, after all of them ran.
   */
  forget(subjectId: string): Promise<ForgetResult>;
  /**
   * Creates (or loads) the subjects' keys now and caches them. For a subject's first event
   * appended inside `store.transaction(...)` on SQLite, whose key store cannot create a key
   * while that transaction holds the file's write lock: call it before the transaction.
   */
  ensureKeys(subjectIds: readonly string[]): Promise<void>;
  /**
   * The event with the subject's personal fields replaced by the redaction marker (decrypted or
   * not): for copies of decrypted events kept outside the log, such as dead letters.
   */
  redact<E extends RecordedEvent>(event: E, subjectId: string): E;
  /** The message types of `personalMessages` (without version): the ones `redactOutbox` looks at. */
  readonly personalMessageTypes: readonly string[];
  /**
   * The message with the subject's personal fields (per `personalMessages`) replaced by the
   * redaction marker; the message itself when it is not the subject's or its type declares none.
   */
  redactMessage<M extends { readonly type: string; readonly schemaVersion: number; readonly data: unknown }>(
    message: M,
    subjectId: string,
  ): M;
  /** Registers a listener for every forget of this process; returns the unsubscribe function. */
  onForgotten(listener: ForgottenListener): () => void;
}

/** The subject of a stored event; undefined for one the append would have refused (written before shredding was on). */
function subjectOfStored(declaration: { subject(data: Record<string, unknown>): unknown }, event: { readonly data: unknown }): unknown {
  try {
    return declaration.subject(event.data as Record<string, unknown>);
  } catch {
    return undefined;
  }
}

/** The event (or message) with the subject's declared fields replaced by the marker; itself when it is not the subject's. */
function redactWith<M extends { readonly type: string; readonly schemaVersion: number; readonly data: unknown }>(
  declarations: DeclarationIndex,
  message: M,
  subjectId: string,
): M {
  const declaration = declarations.find(message.type, message.schemaVersion);
  if (!declaration || subjectOfStored(declaration, message) !== subjectId) return message;
  let data = message.data;
  for (const field of declaration.fields) {
    if (valueAt(data, field.path) !== undefined) data = withValueAt(data, field.path, redactedMarker);
  }
  return { ...message, data };
}

export function createCryptoShredding(options: CryptoShreddingOptions): CryptoShredding {
  const keyCacheTtlMs = options.keyCacheTtlMs ?? 5000;
  if (!(keyCacheTtlMs >= 0)) throw new ValidationError('keyCacheTtlMs must be ≥ 0', { field: 'keyCacheTtlMs' });
  const maxCachedKeys = options.maxCachedKeys ?? 10_000;
  if (!Number.isSafeInteger(maxCachedKeys) || maxCachedKeys < 1)
    throw new ValidationError('maxCachedKeys must be a whole number ≥ 1', { field: 'maxCachedKeys' });
  const declarations = indexDeclarations(options.personalData);
  const messageDeclarations = indexDeclarations(options.personalMessages ?? {}, 'personalMessages');
  const cache = createKeyCache(keyCacheTtlMs, maxCachedKeys);
  const { keyStore } = options;
  const stage = createPersonalDataStage({ keyStore, declarations, cache, onError: options.onError ?? warnOnError });
  const listeners = new Set<ForgottenListener>();
  let store: EventStore | undefined;

  /** Every stream with an event of a declared type whose subject is this one: its clear subject field, read from the log. */
  async function streamsOf(subjectId: string, log: EventStore): Promise<string[]> {
    const streams = new Set<string>();
    for await (const event of log.readAll({ types: declarations.types })) {
      const declaration = declarations.find(event.type, event.schemaVersion);
      if (declaration && !streams.has(event.streamId) && subjectOfStored(declaration, event) === subjectId) streams.add(event.streamId);
    }
    return [...streams];
  }

  /** Whether the log already announces that this subject was forgotten. */
  async function announced(subjectId: string, log: EventStore): Promise<boolean> {
    const events = await log.readStream(forgottenSubjectsStreamId, { direction: 'backwards' });
    return events.some((event) => (event.data as ForgottenSubject).subjectId === subjectId);
  }

  return {
    stage,
    attachStore(attached) {
      store = attached;
    },
    async forget(subjectId) {
      if (typeof subjectId !== 'string' || subjectId === '')
        throw new ValidationError('forget needs a subject id (a non-empty string)', { field: 'subjectId' });
      if (!store)
        throw new ValidationError('forget needs the store: call attachStore(store) once the store is created', { field: 'store' });
      const status = await keyStore.deleteKey(subjectId);
      cache.delete(subjectId);
      // After the key is gone: an append racing with this forget either committed already (and
      // is found) or was encrypted with a key that no longer exists.
      const streamIds = await streamsOf(subjectId, store);
      const forgotten: ForgottenSubject = { subjectId, streamIds };
      let position: bigint | undefined;
      // A forget that failed after deleting the key (before announcing it) announces it now.
      if (status === 'deleted' || (status === 'already_forgotten' && !(await announced(subjectId, store)))) {
        const appended = await store.appendToStream(forgottenSubjectsStreamId, [{ type: subjectForgottenEventType, data: forgotten }]);
        position = appended.position;
      }
      const failures: unknown[] = [];
      for (const listener of listeners) {
        try {
          await listener(forgotten);
        } catch (error) {
          failures.push(error);
        }
      }
      if (failures.length > 0) throw failures[0];
      return { ...forgotten, status, ...(position !== undefined && { position }) };
    },
    async ensureKeys(subjectIds) {
      await Promise.all(
        subjectIds.map(async (subjectId) => {
          if (!cache.get(subjectId)) cache.set(subjectId, await keyStore.getOrCreateKey(subjectId));
        }),
      );
    },
    redact(event, subjectId) {
      return redactWith(declarations, event, subjectId);
    },
    personalMessageTypes: messageDeclarations.types,
    redactMessage(message, subjectId) {
      return redactWith(messageDeclarations, message, subjectId);
    },
    onForgotten(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
