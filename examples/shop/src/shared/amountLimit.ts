/**
 * The most one account balance, one order's total or item count, or one SKU's stock may reach:
 * 10^15 (cents or units; ten trillion in a currency of cents). A domain rule, not a storage
 * limit: amounts are JSON numbers, exact only up to 2^53 ≈ 9.007·10^15, and a balance that
 * went past that would take deposits without changing. With every value of one entity at most
 * 10^15, every sum and difference the deciders and read models form over one entity (a batch's
 * net change, a line's quantity × price checked before it is accepted) stays exact. Sums across
 * many entities (daily order totals) are kept as BIGINT and served as decimal strings instead.
 */
export const amountLimit = 1_000_000_000_000_000;

/** Whether `current + added` (any non-negative safe integers or bigints) stays within the limit; computed exactly. */
export const fitsAmountLimit = (current: number | bigint, added: number | bigint): boolean =>
  BigInt(current) + BigInt(added) <= BigInt(amountLimit);
