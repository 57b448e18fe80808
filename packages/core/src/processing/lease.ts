/**
 * Single-active-instance for an asynchronous projector: several processes may run the same
 * projector for failover, but only the holder of the lease processes events. Implementations
 * (PostgreSQL advisory lock, SQLite lease row…) live in the adapters.
 *
 * A lease is an optimisation, not the safety net: the checkpoint save is a compare-and-set on
 * the position the projector last loaded, so two instances that both believe they hold the
 * lease still cannot apply the same batch twice — the second transaction rolls back.
 */
export interface Lease {
  /** Try to become the active instance. Resolves true when held (idempotent while held). */
  acquire(): Promise<boolean>;
  /**
   * Called before every batch: confirm, and extend where the lease expires, that it is still
   * held. False means it was lost (expired, connection dropped): the projector stops processing
   * and goes back to standby, retrying `acquire` every `leaseRetryMs`.
   */
  renew(): Promise<boolean>;
  /** Give the lease up (on stop) so a standby instance can take over at once. */
  release(): Promise<void>;
}
