// Without the `u` flag a regular expression sees UTF-16 code units, so it can find halves of pairs.
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * An error message made storable as text anywhere: PostgreSQL refuses NUL in TEXT (the write of
 * a failure or dead letter would fail, and the projector would retry it forever), and a lone
 * surrogate is not UTF-8. NUL becomes the visible escape `\u0000`, lone surrogates U+FFFD.
 */
export function failureText(message: string): string {
  return message.replaceAll('\u0000', '\\u0000').replace(loneSurrogate, '\uFFFD');
}
