import { ValidationError } from '../domain/errors.js';
import { isWellFormed, jsonHasLoneSurrogate, jsonHasNul } from '../domain/isWellFormed.js';

const refused = 'which no store accepts: SQL on PostgreSQL cannot read it';
const nulText = 'U+0000 (NUL)';
const loneSurrogateText = 'a lone surrogate (text that is not well-formed Unicode)';

/**
 * Event data and metadata must hold no U+0000 (NUL) and no lone surrogate, in strings or keys.
 * PostgreSQL's json column takes both (as the escapes \u0000 and \ud800), but then every SQL read
 * of that event's JSON fails — `->>`, `->`, a jsonb cast: "unsupported Unicode escape sequence",
 * "Unicode low surrogate must follow a high surrogate" — so a read model projected in SQL would
 * stall on the event for good, while SQLite and the in-memory store would keep it. Refused
 * before anything is written, so every store behaves alike.
 *
 * Checked on the serialised text rather than value by value: JSON.stringify writes both as \u
 * escapes, and writes a \u escape for little else (other control characters), so a typical event
 * pays one native scan. Where the culprit sits is worked out only when there is one.
 */
export function assertStorableJson(json: string, what: string): void {
  // Typical events have no \u escape at all: one native scan, and the closer look is not entered.
  if (json.includes('\\u')) refuseUnstorableEscapes(json, what);
}

/** Throws when one of the \u escapes in `json` is a NUL or a lone surrogate (not an escaped backslash). */
function refuseUnstorableEscapes(json: string, what: string): void {
  const nul = jsonHasNul(json);
  if (!nul && !jsonHasLoneSurrogate(json)) return;
  // The escape found above is in some string or key, so locate finds it; the fallback only keeps the error typed.
  const found = locate(JSON.parse(json), what) ?? { path: what, problem: nul ? nulText : loneSurrogateText };
  const where = found.key === undefined ? `${found.path} holds` : `${found.path} has a key (${JSON.stringify(found.key)}) holding`;
  throw new ValidationError(`${where} ${found.problem}, ${refused}`, { field: found.path });
}

function problemOf(text: string): string | undefined {
  if (text.includes('\u0000')) return nulText;
  return isWellFormed(text) ? undefined : loneSurrogateText;
}

interface Culprit {
  /** The string's path, or the path of the object whose key it is. */
  path: string;
  key?: string;
  problem: string;
}

/**
 * A string or key that no store accepts, in parsed JSON, depth first with each object's keys
 * checked before its values, so a path never passes through a bad key. A loop over a stack, not
 * recursion: data nested as deep as JSON.stringify allows must not overflow.
 */
function locate(root: unknown, rootPath: string): Culprit | undefined {
  const pending: Array<[unknown, string]> = [[root, rootPath]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [value, path] = next;
    if (typeof value === 'string') {
      const problem = problemOf(value);
      if (problem !== undefined) return { path, problem };
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    // Arrays too: their entries are keyed by index, which is how the path names them.
    const entries = Object.entries(value);
    if (!Array.isArray(value)) {
      for (const [key] of entries) {
        const problem = problemOf(key);
        if (problem !== undefined) return { path, key, problem };
      }
    }
    for (const [key, child] of entries.reverse()) pending.push([child, `${path} → ${key}`]);
  }
  return undefined;
}
