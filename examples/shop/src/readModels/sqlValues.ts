/**
 * Multi-row VALUES lists for the set-based projections: a batch becomes a few statements
 * instead of one per event. The same SQL runs on SQLite and PostgreSQL.
 */

/** Rows per statement: 100 rows of up to 6 parameters stays far below either dialect's limit. */
const rowsPerStatement = 100;

export function* chunks<Row>(rows: readonly Row[]): Generator<Row[]> {
  for (let i = 0; i < rows.length; i += rowsPerStatement) yield rows.slice(i, i + rowsPerStatement);
}

/**
 * `($1, $2, …), ($n+1, …)` for `rows` of `width` values, each cast when `types` are given. In a
 * `FROM (VALUES …) AS v` the columns are column1, column2, … in both dialects (SQLite has no
 * derived column lists), and the casts give PostgreSQL the parameters' types.
 */
export function placeholders(rows: readonly unknown[][], width: number, types?: readonly string[]): string {
  return rows
    .map((_, r) => {
      const cells = Array.from({ length: width }, (_, c) => {
        const placeholder = `$${r * width + c + 1}`;
        return types ? `CAST(${placeholder} AS ${types[c]})` : placeholder;
      });
      return `(${cells.join(', ')})`;
    })
    .join(', ');
}
