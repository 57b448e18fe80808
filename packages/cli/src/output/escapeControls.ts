/**
 * Characters a terminal acts on instead of showing: C0 and C1 controls (ESC and the 8-bit CSI start
 * sequences that recolour, clear or retitle the screen, and in some terminals answer with
 * keystrokes), DEL, the bidirectional overrides and isolates that reorder what follows them, and
 * the line and paragraph separators that break a one-line cell.
 */
const unsafe = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Escapes them as `\uXXXX`: store content (event data, stream ids, projection names, error texts)
 * is written by whoever appends, so it is printed escaped, to a terminal or not. In JSON text those
 * characters can only occur inside strings, where `\uXXXX` is the same string once parsed.
 */
export function escapeControls(text: string): string {
  return text.replace(unsafe, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
