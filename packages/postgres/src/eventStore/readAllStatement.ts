import { packedEventWithStream } from './eventRows.js';
import { readableHorizonSql } from './readableHorizon.js';

/** One page of readAll: a named statement and its parameters. */
export interface ReadAllStatement {
  name: string;
  text: string;
  /** Parameters of a page: events after `after`, at most `limit` of them. */
  values(after: bigint, limit: number): unknown[];
}

export interface ReadAllFilter {
  /** Deduplicated; undefined for no filter. Never empty (an empty list matches nothing and is not read). */
  types: readonly string[] | undefined;
  categories: readonly string[] | undefined;
}

/**
 * The statement of a readAll page for one filter shape.
 *
 * Unfiltered: a range scan of the primary key between the checkpoint and the readable horizon.
 *
 * Filtered, the plain `position > $1 AND category = ANY ($3)` is planned (generic plan of a named
 * statement) as that same primary-key scan with the filter applied row by row: the range
 * `position > $1 AND position < horizon` is estimated at 0.5% of the table and the primary key's
 * perfect correlation wins against (category, position). A page then reads every event between
 * the checkpoint and its last match — 4× the rows for a category holding a quarter of the log,
 * the whole log for a rare one. Adding `category = $3` does not help either: btree keeps the
 * equality and drops the position bound from the start key, so the scan starts at the
 * category's first entry on every page.
 *
 * So the filter and the bounds go into ROW comparisons, `(category, position) > ($3, $1) AND
 * (category, position) < ($3, horizon)` — exactly `category = $3 AND $1 < position < horizon`,
 * but only (category, position) can serve it, as one range scan starting at the checkpoint and
 * stopping after `limit` entries, whatever the category's share of the log. Ordered by
 * (category, position), which within one category is position order.
 *
 * Several values: one such range scan per value (LATERAL over the array, so one statement
 * serves any count), each stopping after `limit` rows — every event of the page is among its
 * own value's first `limit` — and the best `limit` of them by position. The packed column is
 * built only for the rows of the page, outside the sort. With both filters the categories drive
 * the index and the types filter within them, as in the SQLite store.
 *
 * All scans of one statement share its snapshot, hence one horizon: the page is the same set of
 * events, in the same order, as the single filtered scan of the log would return.
 */
export function readAllStatement(quotedSchema: string, statementPrefix: string, filter: ReadAllFilter): ReadAllStatement {
  return pageStatement(quotedSchema, `${statementPrefix}:readAll`, filter, packedEventWithStream);
}

/**
 * readPage's statement: the page above and, from the same snapshot, the head and the horizon —
 * a subscription's two round trips (headPosition, then readAll) in one. The head is one row,
 * LEFT JOINed to the page so that an empty page still gives it: every row is
 * [head, horizon, packed event or NULL]. The page keeps its own plan; the outer ORDER BY puts
 * its rows back in position order after the join.
 */
export function readPageStatement(quotedSchema: string, statementPrefix: string, filter: ReadAllFilter): ReadAllStatement {
  const page = pageStatement(quotedSchema, `${statementPrefix}:readPage`, filter, `position, ${packedEventWithStream} AS packed`);
  const horizon = readableHorizonSql(quotedSchema);
  return {
    ...page,
    text: `SELECT h.head::text, h.horizon::text, p.packed
      FROM (SELECT coalesce(max(position), 0) AS head, ${horizon} AS horizon FROM ${quotedSchema}.events WHERE position < ${horizon}) AS h
      LEFT JOIN LATERAL (${page.text}) AS p ON true
      ORDER BY p.position`,
  };
}

function pageStatement(quotedSchema: string, baseName: string, filter: ReadAllFilter, select: string): ReadAllStatement {
  const events = `${quotedSchema}.events`;
  const horizon = readableHorizonSql(quotedSchema);
  const { types, categories } = filter;
  if (!types && !categories) {
    return {
      name: baseName,
      text: `SELECT ${select} FROM ${events}
        WHERE position > $1 AND position < ${horizon} ORDER BY position LIMIT $2`,
      values: (after, limit) => [after, limit],
    };
  }
  const [column, driving] = categories ? (['category', categories] as const) : (['type', types as readonly string[]] as const);
  const typeFilter = categories && types ? 'AND type = ANY ($4::text[])' : '';
  const extra = typeFilter ? [types] : [];
  const name = `${baseName}:${column}${typeFilter ? ':types' : ''}`;
  if (driving.length === 1) {
    return {
      name,
      text: `SELECT ${select} FROM ${events}
        WHERE (${column}, position) > ($3::text, $1::bigint) AND (${column}, position) < ($3::text, ${horizon}) ${typeFilter}
        ORDER BY ${column}, position LIMIT $2`,
      values: (after, limit) => [after, limit, driving[0], ...extra],
    };
  }
  return {
    name: `${name}:many`,
    text: `SELECT ${select} FROM (
        SELECT e.* FROM unnest($3::text[]) AS f(value) CROSS JOIN LATERAL (
          SELECT * FROM ${events}
           WHERE (${column}, position) > (f.value, $1::bigint) AND (${column}, position) < (f.value, ${horizon}) ${typeFilter}
           ORDER BY ${column}, position LIMIT $2
        ) AS e
        ORDER BY e.position LIMIT $2
      ) AS page ORDER BY position`,
    values: (after, limit) => [after, limit, driving, ...extra],
  };
}
