/**
 * Whether `text` is well-formed Unicode: no lone surrogate. Storage encodes text as UTF-8,
 * which cannot hold a lone surrogate: SQLite and PostgreSQL replace it with U+FFFD, so two
 * different names would collide into one. Names are refused instead.
 */
export function isWellFormed(text: string): boolean {
  // String.prototype.isWellFormed is in Node 20, but not yet in the ES2023 lib this repo compiles against.
  return (text as string & { isWellFormed(): boolean }).isWellFormed();
}

// JSON.stringify writes a lone surrogate as an escape such as \ud800 (and a well-formed pair as
// the characters themselves). The escape counts only after an even number of backslashes:
// `\\ud800` is an escaped backslash followed by the letters "ud800".
const loneSurrogateEscape = /(?:^|[^\\])(?:\\\\)*\\u[dD][89abAB]|(?:^|[^\\])(?:\\\\)*\\u[dD][c-fC-F]/;

/** Whether JSON text made by JSON.stringify holds a string with a lone surrogate. */
export function jsonHasLoneSurrogate(json: string): boolean {
  // Fast path: no escape of the surrogate range anywhere.
  return json.includes('\\ud') && loneSurrogateEscape.test(json);
}

// U+0000, which JSON.stringify writes as \u0000; the same even-backslash rule applies.
const nulEscape = /(?:^|[^\\])(?:\\\\)*\\u0000/;

/**
 * Whether JSON text made by JSON.stringify holds a string (or key) with U+0000. PostgreSQL's
 * jsonb cannot hold it ("unsupported Unicode escape sequence"), nor can its text.
 */
export function jsonHasNul(json: string): boolean {
  return json.includes('\\u0000') && nulEscape.test(json);
}
