/**
 * A string as an SQL literal, for a statement that takes no parameters (COPY). The E'' form
 * reads a backslash as an escape whatever standard_conforming_strings says, so backslashes are
 * doubled as well as quotes. NUL, which PostgreSQL text cannot hold, is refused before this by
 * the name checks (assertValidName).
 */
export function sqlStringLiteral(value: string): string {
  return `E'${value.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}
