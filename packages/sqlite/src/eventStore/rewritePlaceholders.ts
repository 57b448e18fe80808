/** SQL with `?` placeholders, and which caller parameter (0-based) each `?` takes, in order. */
export interface RewrittenSql {
  sql: string;
  parameterOrder: readonly number[];
}

/**
 * Turns PostgreSQL-style `$1…$n` placeholders into SQLite's anonymous `?`. better-sqlite3
 * treats numbered `?NNN` parameters as named ones, so a repeated `$1` cannot stay numbered:
 * each occurrence becomes its own `?` and `parameterOrder` says which value to bind there.
 * String literals, quoted identifiers and comments are copied untouched, so a `'$1'` inside
 * text is data, not a parameter.
 */
export function rewritePlaceholders(sql: string): RewrittenSql {
  const order: number[] = [];
  let out = '';
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i] as string;
    if (c === "'" || c === '"' || c === '`') {
      // Quoted text runs to the matching quote; a doubled quote is an escaped one.
      let j = i + 1;
      while (j < n) {
        if (sql[j] === c) {
          if (sql[j + 1] === c) j += 2;
          else break;
        } else j++;
      }
      out += sql.slice(i, j + 1);
      i = j + 1;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const j = end === -1 ? n : end;
      out += sql.slice(i, j);
      i = j;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      const j = end === -1 ? n : end + 2;
      out += sql.slice(i, j);
      i = j;
    } else if (c === '$' && isDigit(sql.charCodeAt(i + 1))) {
      let j = i + 1;
      while (j < n && isDigit(sql.charCodeAt(j))) j++;
      const index = Number(sql.slice(i + 1, j));
      if (index < 1) throw new RangeError(`Placeholder $${sql.slice(i + 1, j)} is not valid: placeholders start at $1`);
      order.push(index - 1);
      out += '?';
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return { sql: out, parameterOrder: order };
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}
