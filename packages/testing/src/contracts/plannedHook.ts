import type { EventStore, RecordedEvent, StoreTransaction } from '@tidemark/core';

/** What a test event asks of the hook: pause for some event-loop turns, append an audit event, then fail. */
export interface Plan {
  n: number;
  turns?: number;
  audit?: boolean;
  fail?: boolean;
}

export const ev = (plan: Plan) => ({ type: 'thing.happened', data: plan });
export const planOf = (event: RecordedEvent) => event.data as Plan;

/**
 * An inline projection with awaits in it, as real ones have: it gives appends running alongside
 * every chance to interleave. Its audit append is an append made from inside a hook. `defaults`
 * fill what a plan leaves out.
 */
export function addPlannedHook(store: EventStore, defaults: { turns: number; audit: boolean }): void {
  store.addAppendHook(async (events, tx: StoreTransaction) => {
    for (const event of events) {
      if (event.streamId.startsWith('audit-')) continue;
      const plan = planOf(event);
      for (let turn = 0; turn < (plan.turns ?? defaults.turns); turn++) await new Promise((resolve) => setImmediate(resolve));
      if (plan.audit ?? defaults.audit)
        await tx.appendToStream(`audit-${event.streamId}`, [{ type: 'audit.recorded', data: { of: plan.n } }]);
      if (plan.fail) throw new Error(`hook failed for ${plan.n}`);
    }
  });
}
