import type { SubjectKey } from './keyStore.js';

interface Entry {
  key: SubjectKey | undefined;
  expiresAt: number;
}

/**
 * Subjects' keys (and their absence) remembered for `ttlMs`, at most `maxEntries`, the
 * oldest dropped first. The TTL is the bound on how long ANOTHER process's forget can
 * go unnoticed here; this process's own forget evicts at once.
 */
export interface KeyCache {
  /** The cached answer, `null` when there is none (or it expired). */
  get(subjectId: string): SubjectKey | undefined | null;
  set(subjectId: string, key: SubjectKey | undefined): void;
  delete(subjectId: string): void;
  clear(): void;
}

export function createKeyCache(ttlMs: number, maxEntries: number, now: () => number = Date.now): KeyCache {
  const entries = new Map<string, Entry>();
  return {
    get(subjectId) {
      const entry = entries.get(subjectId);
      if (!entry) return null;
      if (entry.expiresAt <= now()) {
        entries.delete(subjectId);
        return null;
      }
      return entry.key;
    },
    set(subjectId, key) {
      entries.delete(subjectId);
      entries.set(subjectId, { key, expiresAt: now() + ttlMs });
      if (entries.size > maxEntries) {
        const oldest = entries.keys().next().value;
        if (oldest !== undefined) entries.delete(oldest);
      }
    },
    delete: (subjectId) => void entries.delete(subjectId),
    clear: () => entries.clear(),
  };
}
