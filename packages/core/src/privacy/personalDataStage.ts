import { findBidiControl } from '../domain/bidiControls.js';
import type { NewEvent, RecordedEvent } from '../domain/event.js';
import { isWellFormed } from '../domain/isWellFormed.js';
import type { ErrorReporter } from '../eventStore/afterCommitCallbacks.js';
import type { EventStage } from '../versioning/eventStage.js';
import { decryptField, encryptField, envelopeOf, type FieldEnvelope } from './fieldEnvelope.js';
import type { KeyCache } from './keyCache.js';
import type { KeyStore, SubjectKey } from './keyStore.js';
import type { PersonalDataDeclaration, PersonalDataDeclarations } from './personalData.js';
import { type FieldPath, parseFieldPath, valueAt, withValueAt } from './personalDataPaths.js';
import { InvalidSubjectIdError, MissingSubjectIdError, PersonalDataTamperedError } from './privacyErrors.js';

/**
 * What a personal-data field reads as once its subject is forgotten (or its ciphertext fails
 * authentication): this string, in place of the value — whatever the value's type was. A clear
 * marker, never ciphertext handed on as if it were data and never an exception: a reader (a
 * projection, an HTTP view) shows or stores it as it is.
 */
export const redactedMarker = '[redacted]';

/** Whether a field's value is the redaction marker. */
export const isRedacted = (value: unknown): boolean => value === redactedMarker;

/** The longest subject id: stream ids are capped at 256 characters, and a subject is often part of one. */
export const maxSubjectIdLength = 256;

interface CompiledDeclaration {
  subject: PersonalDataDeclaration['subject'];
  fields: ReadonlyArray<{ name: string; path: FieldPath }>;
}

/** Declarations by event type, looked up per event as `type.vN` first, then `type`. */
export interface DeclarationIndex {
  find(type: string, schemaVersion: number): CompiledDeclaration | undefined;
  /** The event types (without version) that carry personal data: what forget has to look at. */
  readonly types: readonly string[];
}

export function indexDeclarations(declarations: PersonalDataDeclarations, option = 'personalData'): DeclarationIndex {
  const byName = new Map<string, CompiledDeclaration>();
  const types = new Set<string>();
  for (const [name, declaration] of Object.entries(declarations)) {
    if (typeof declaration?.subject !== 'function' || !Array.isArray(declaration.fields) || declaration.fields.length === 0) {
      throw new RangeError(`${option}['${name}'] needs a subject function and at least one field`);
    }
    byName.set(name, {
      subject: declaration.subject,
      fields: declaration.fields.map((field) => ({ name: field, path: parseFieldPath(field) })),
    });
    types.add(name.replace(/\.v[1-9]\d*$/, ''));
  }
  // Most events carry no personal data: one failed lookup (or two) and they pass untouched.
  return {
    find: (type, schemaVersion) => byName.get(`${type}.v${schemaVersion}`) ?? byName.get(type),
    types: [...types],
  };
}

/** The event's subject id, validated: a typed error (and so nothing written) when there is none or it is unusable. */
function subjectOf(declaration: CompiledDeclaration, event: NewEvent, index: number): string {
  let subject: unknown;
  try {
    subject = declaration.subject(event.data as Record<string, unknown>);
  } catch (error) {
    throw new MissingSubjectIdError(event.type, index, { cause: error });
  }
  if (subject === undefined || subject === null || subject === '') throw new MissingSubjectIdError(event.type, index);
  if (typeof subject !== 'string') throw new InvalidSubjectIdError(event.type, index, `a ${typeof subject}, not a string`);
  if (subject.length > maxSubjectIdLength)
    throw new InvalidSubjectIdError(event.type, index, `longer than ${maxSubjectIdLength} characters`);
  if (/[\u0000-\u001f\u007f]/.test(subject) || !isWellFormed(subject)) {
    throw new InvalidSubjectIdError(event.type, index, 'control characters or malformed Unicode');
  }
  // A subject id is a name an operator reads and acts on (forgetting a subject shreds its key):
  // the same bidirectional-control rule as stream ids (assertValidName), so it cannot display as another's.
  const bidi = findBidiControl(subject);
  if (bidi !== undefined) throw new InvalidSubjectIdError(event.type, index, `${bidi}, a bidirectional control character`);
  return subject;
}

export interface StageOptions {
  keyStore: KeyStore;
  declarations: DeclarationIndex;
  cache: KeyCache;
  onError: ErrorReporter;
}

/**
 * The crypto stage: encrypts declared fields on write, decrypts (or redacts) them on read. Both
 * directions are synchronous when every key they need is cached — no await per event — and
 * fetch the missing keys in one round first otherwise.
 */
export function createPersonalDataStage({ keyStore, declarations, cache, onError }: StageOptions): EventStage {
  /** A key from the cache, or from the round of fetches this call just made (which a tiny TTL may already have expired). */
  type Lookup = (subject: string) => SubjectKey | undefined | null;
  const cached: Lookup = (subject) => cache.get(subject);
  const withFetched =
    (fetched: ReadonlyMap<string, SubjectKey | undefined>): Lookup =>
    (subject) =>
      fetched.has(subject) ? fetched.get(subject) : cache.get(subject);

  function encrypt(events: readonly NewEvent[], subjects: readonly (string | undefined)[], lookup: Lookup): readonly NewEvent[] {
    let changed: NewEvent[] | undefined;
    for (let i = 0; i < events.length; i++) {
      const subject = subjects[i];
      if (subject === undefined) continue;
      const event = events[i]!;
      // write() fetched every subject whose key was not cached: there is one.
      const key = lookup(subject) as SubjectKey;
      const declaration = declarations.find(event.type, event.schemaVersion ?? 1)!;
      let data = event.data;
      for (const field of declaration.fields) {
        const value = valueAt(data, field.path);
        // An absent optional field stays absent; one already encrypted (a stored event appended again) stays as it is.
        if (value === undefined || envelopeOf(value)) continue;
        data = withValueAt(data, field.path, encryptField(value, key, field.name, event.id));
      }
      changed ??= events.slice();
      changed[i] = { ...event, data };
    }
    return changed ?? events;
  }

  async function fetchKeys(
    subjects: Iterable<string>,
    fetch: (subject: string) => Promise<SubjectKey | undefined>,
  ): Promise<Map<string, SubjectKey | undefined>> {
    const fetched = new Map<string, SubjectKey | undefined>();
    await Promise.all(
      [...new Set(subjects)].map(async (subject) => {
        const key = await fetch(subject);
        fetched.set(subject, key);
        cache.set(subject, key);
      }),
    );
    return fetched;
  }

  function decrypt(events: readonly RecordedEvent[], lookup: Lookup): readonly RecordedEvent[] {
    let changed: RecordedEvent[] | undefined;
    for (let i = 0; i < events.length; i++) {
      const event = events[i]!;
      const declaration = declarations.find(event.type, event.schemaVersion);
      if (!declaration) continue;
      let data = event.data;
      for (const field of declaration.fields) {
        const envelope = envelopeOf(valueAt(data, field.path));
        if (!envelope) continue;
        data = withValueAt(data, field.path, openEnvelope(envelope, event, field.name, lookup));
      }
      if (data === event.data) continue;
      changed ??= events.slice();
      changed[i] = { ...event, data };
    }
    return changed ?? events;
  }

  function openEnvelope(envelope: FieldEnvelope, event: RecordedEvent, field: string, lookup: Lookup): unknown {
    const key = lookup(envelope.s);
    // No key (forgotten), or another one (forgotten, and the subject has a new key since).
    if (!key || key.keyId !== envelope.k) return redactedMarker;
    try {
      return decryptField(envelope, key, field);
    } catch (error) {
      onError(new PersonalDataTamperedError({ eventId: event.id, streamId: event.streamId, field }, { cause: error }), 'crypto-shredding');
      return redactedMarker;
    }
  }

  /** Subjects whose envelopes in `events` have no usable cached key: absent, expired, or of another key id. */
  function unresolved(events: readonly RecordedEvent[]): Set<string> {
    const missing = new Set<string>();
    for (const event of events) {
      const declaration = declarations.find(event.type, event.schemaVersion);
      if (!declaration) continue;
      for (const field of declaration.fields) {
        const envelope = envelopeOf(valueAt(event.data, field.path));
        if (!envelope) continue;
        const key = cache.get(envelope.s);
        if (key === null || (key !== undefined && key.keyId !== envelope.k)) missing.add(envelope.s);
      }
    }
    return missing;
  }

  return {
    write(events) {
      const subjects: (string | undefined)[] = [];
      const missing: string[] = [];
      for (let i = 0; i < events.length; i++) {
        const event = events[i]!;
        const declaration = declarations.find(event.type, event.schemaVersion ?? 1);
        if (!declaration) {
          subjects.push(undefined);
          continue;
        }
        const subject = subjectOf(declaration, event, i);
        subjects.push(subject);
        // A cached "no key" is no use for writing: the key is made on first use.
        if (!cache.get(subject)) missing.push(subject);
      }
      if (missing.length === 0) return encrypt(events, subjects, cached);
      return fetchKeys(missing, (subject) => keyStore.getOrCreateKey(subject)).then((fetched) =>
        encrypt(events, subjects, withFetched(fetched)),
      );
    },

    read(events) {
      const missing = unresolved(events);
      if (missing.size === 0) return decrypt(events, cached);
      return fetchKeys(missing, (subject) => keyStore.findKey(subject)).then((fetched) => decrypt(events, withFetched(fetched)));
    },
  };
}
