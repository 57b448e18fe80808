import { randomBytes } from 'node:crypto';
import { newId } from '../domain/ids.js';

/** A data subject's key: 256 random bits, and an id that tells it from the subject's earlier (forgotten) keys. */
export interface SubjectKey {
  subjectId: string;
  /** Changes when a forgotten subject gets a new key, so that old ciphertext is never tried with it. */
  keyId: string;
  /** 32 bytes: the AES-256-GCM key. */
  material: Uint8Array;
}

/** What {@link KeyStore.deleteKey} found: a key it deleted, a subject forgotten before, or none. */
export type KeyDeletion = 'deleted' | 'already_forgotten' | 'unknown';

/**
 * Where the per-subject keys of crypto-shredding live. The SQLite and PostgreSQL adapters keep
 * them in a table of the store's own migrations; a KMS (or a vault) can take their place by
 * implementing these three calls — keep the material in the KMS and deleting it there is the
 * forgetting. Deleting must really destroy the material: the whole guarantee rests on it.
 */
export interface KeyStore {
  /**
   * The subject's key, created on first use. Concurrent first uses — in this process or in
   * others sharing the store — all get the one key that was stored: creation is an
   * insert-if-absent followed by a read, never read-then-insert.
   */
  getOrCreateKey(subjectId: string): Promise<SubjectKey>;
  /** The subject's key, or undefined when there is none (never created, or forgotten). Never creates one. */
  findKey(subjectId: string): Promise<SubjectKey | undefined>;
  /**
   * Destroys the subject's key. The subject is remembered as forgotten (its id and the time,
   * no key material), so a second call answers 'already_forgotten'. A later getOrCreateKey
   * makes a NEW key (new id): data written after forgetting is readable again, data before is not.
   */
  deleteKey(subjectId: string): Promise<KeyDeletion>;
}

/** Fresh key material for a subject: what a table-backed key store stores. */
export function newSubjectKey(subjectId: string): SubjectKey {
  return { subjectId, keyId: newId(), material: randomBytes(32) };
}
