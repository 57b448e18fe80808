import type { StoreTransaction } from '../eventStore/eventStore.js';
import type { Lease } from './lease.js';
import { abortableDelay } from './retryPolicy.js';

/**
 * Waits until `acquire` answers true, trying again every `retryMs` and calling `onStandby` after
 * each refusal; false once `signal` aborts. How a refused or failing acquire is treated is the
 * caller's: it passes `() => lease.acquire()` to let errors through, or adds a `catch`.
 */
export async function waitForLease(
  acquire: () => Promise<boolean>,
  retryMs: number,
  signal: AbortSignal,
  onStandby: () => void,
): Promise<boolean> {
  while (!signal.aborted) {
    if (await acquire()) return true;
    onStandby();
    await abortableDelay(retryMs, signal);
  }
  return false;
}

export interface LeaseWatch {
  /** Aborted when `signal` aborts or the lease is lost. */
  readonly signal: AbortSignal;
  lost(): boolean;
  stop(): void;
}

/**
 * While the lease is held: renews it every `renewMs` (one renewal at a time) and, once a renewal
 * fails, calls `onLost` and aborts the returned signal, ending the holder's work. Work stuck on
 * a dead connection cannot be interrupted, but its state no longer claims to hold the lease, and
 * fencing keeps it from committing when it comes back. No lease: nothing to watch.
 */
export function watchLease<Tx extends StoreTransaction>(
  lease: Lease<Tx> | undefined,
  renewMs: number,
  signal: AbortSignal,
  onLost: () => void,
): LeaseWatch {
  if (!lease) return { signal, lost: () => false, stop: () => {} };
  const holding = new AbortController();
  let lost = false;
  let renewing = false;
  const onAbort = () => holding.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  const timer = setInterval(() => {
    if (renewing || lost) return;
    renewing = true;
    lease
      .renew()
      .catch(() => false)
      .then((held) => {
        renewing = false;
        if (held || lost || signal.aborted) return;
        lost = true;
        onLost();
        holding.abort();
      });
  }, renewMs);
  return {
    signal: holding.signal,
    lost: () => lost,
    stop() {
      clearInterval(timer);
      signal.removeEventListener('abort', onAbort);
    },
  };
}
