/**
 * PostgreSQL's earliest timestamp (4714-11-24 BC, Julian day 0), in ms since the epoch. A Date
 * reaches further back (to 271821 BC), which the server refuses as out of range. Nothing is
 * recorded before this one, so a time bound before it is moved to it: the answer is the same
 * (nothing is that old), as on the other stores.
 */
export const earliestTimestampMs = Date.UTC(-4713, 10, 24);
