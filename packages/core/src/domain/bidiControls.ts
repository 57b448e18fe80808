/**
 * The Unicode bidirectional controls: U+061C (ARABIC LETTER MARK), U+200E/U+200F (LRM, RLM), the
 * embeddings and overrides U+202A–U+202E, and the isolates U+2066–U+2069. They draw nothing but
 * reorder the text around them, so `order-\u202E1-dlo` shows as another id than the one stored
 * ("Trojan Source", CVE-2021-42574). The CLI escapes them when it prints; names refuse them.
 */
const bidiControl = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/**
 * The first bidirectional control in `text` as a code point name such as `U+202E`, or
 * undefined when there is none.
 */
export function findBidiControl(text: string): string | undefined {
  const match = bidiControl.exec(text);
  if (!match) return undefined;
  return `U+${match[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
}
