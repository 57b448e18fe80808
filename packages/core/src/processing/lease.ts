import { TidemarkError } from '../domain/errors.js';
import type { StoreTransaction } from '../eventStore/eventStore.js';

/**
 * Single-active-instance for an asynchronous projector: several processes may run the same
 * projector for failover, but only the holder of the lease processes events. Implementations
 * (a lease row with a deadline and a fencing token in PostgreSQL and SQLite, in memory for
 * tests) live in the adapters.
 *
 * A lease expires when its holder stops renewing it, so a holder that vanished without
 * closing anything (host gone, process frozen, network cut) is replaced within the lease's
 * time to live. A holder that only lost its network, or was frozen, and comes back must not
 * then commit: every batch transaction calls `fence`, which fails unless the holder's fencing
 * token is still the current one. The checkpoint's compare-and-set is a second net beneath.
 */
export interface Lease<Tx extends StoreTransaction = StoreTransaction> {
  /** Try to become the active instance. Resolves true when held (idempotent while held). */
  acquire(): Promise<boolean>;
  /**
   * Confirms, and extends, the lease: the projector calls it before every batch and on a timer
   * (`leaseRenewMs`) meanwhile. False means it was lost (expired, taken over, unreachable
   * database): the projector goes to standby and retries `acquire` every `leaseRetryMs`.
   */
  renew(): Promise<boolean>;
  /** Give the lease up (on stop, or on halting) so a standby instance can take over at once. */
  release(): Promise<void>;
  /**
   * Inside a projector's batch transaction, before its writes: throws {@link LeaseLostError}
   * unless this instance still holds the lease under its fencing token, and keeps the lease from
   * changing hands until the transaction ends. Absent: only the checkpoint guards.
   */
  fence?(tx: Tx): Promise<void>;
}

/** The lease is no longer this instance's (expired or taken over): its transaction must not commit. */
export class LeaseLostError extends TidemarkError {
  constructor(name: string, details: Record<string, unknown> = {}) {
    super('concurrency', `The lease '${name}' is no longer held by this instance`, { name, ...details });
  }
}
