/**
 * How every transaction of the adapter starts. Its correctness rests on READ COMMITTED: a
 * statement run after a lock wait (the stream's advisory lock in append_to_stream, the migration
 * lock, the rebase's table locks) sees what the lock holder committed. A bare BEGIN would take
 * the role's or the database's default_transaction_isolation, and under REPEATABLE READ the
 * stream head read after the lock is the transaction's older snapshot: a concurrent append
 * then surfaces as a raw unique violation instead of a ConcurrencyError.
 */
export const beginReadCommitted = 'BEGIN ISOLATION LEVEL READ COMMITTED';
