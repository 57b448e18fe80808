import type { KeyStore, SubjectKey } from './keyStore.js';
import { newSubjectKey } from './keyStore.js';

/** Callers get copies: the stored material is zeroed on forgetting, theirs stays theirs (a database returns copies too). */
const copyOf = (key: SubjectKey): SubjectKey => ({ ...key, material: Uint8Array.from(key.material) });

/** Keys in a Map, for tests and the in-memory store: forgetting drops (and zeroes) the material. */
export function createInMemoryKeyStore(): KeyStore {
  // undefined: forgotten (the tombstone); absent: never seen.
  const keys = new Map<string, SubjectKey | undefined>();
  return {
    async getOrCreateKey(subjectId) {
      let key = keys.get(subjectId);
      if (!key) {
        key = newSubjectKey(subjectId);
        keys.set(subjectId, key);
      }
      return copyOf(key);
    },
    async findKey(subjectId) {
      const key = keys.get(subjectId);
      return key && copyOf(key);
    },
    async deleteKey(subjectId) {
      if (!keys.has(subjectId)) return 'unknown';
      const key = keys.get(subjectId);
      if (!key) return 'already_forgotten';
      key.material.fill(0);
      keys.set(subjectId, undefined);
      return 'deleted';
    },
  };
}
