import {
  type CommandBus,
  type HistoryEntry,
  loadAggregate,
  type QueryBus,
  type RecordedEvent,
  type SnapshotOptions,
  type SnapshotStore,
  type StateCache,
  type StreamOperations,
  streamHistory,
} from '@tidemark/core';
import { type CommandEnvelope, deciderCommandHandler, type WriteResult } from '../shared/deciderCommandHandler.js';
import type { ShopCommands, ShopQueries } from '../shopMessages.js';
import { bankAccountStreamId, type CloseAccount, type DepositFunds, type OpenAccount, type WithdrawFunds } from './bankAccountCommands.js';
import { type BankAccountState, bankAccountDecider } from './bankAccountDecider.js';
import { BankAccountNotFoundError } from './bankAccountErrors.js';

export interface BankAccountView {
  accountId: string;
  /** The customer it was opened for, if any (the data subject of `owner` and `email`). */
  customerId?: string;
  /** '[redacted]' once the customer is forgotten. */
  owner: string;
  email?: string;
  status: 'open' | 'closed';
  /** Integer cents. */
  balance: number;
}

export const bankAccountView = (state: BankAccountState): BankAccountView => ({
  accountId: state.accountId,
  ...(state.customerId !== undefined && { customerId: state.customerId }),
  owner: state.owner,
  ...(state.email !== undefined && { email: state.email }),
  status: state.status === 'closed' ? 'closed' : 'open',
  balance: state.balance,
});

export type BankAccountCommands = {
  'bank.account.open': { payload: CommandEnvelope<OpenAccount['data']>; result: WriteResult<BankAccountView> };
  'bank.account.deposit': { payload: CommandEnvelope<DepositFunds['data']>; result: WriteResult<BankAccountView> };
  'bank.account.withdraw': { payload: CommandEnvelope<WithdrawFunds['data']>; result: WriteResult<BankAccountView> };
  'bank.account.close': { payload: CommandEnvelope<CloseAccount['data']>; result: WriteResult<BankAccountView> };
};

export type BankAccountQueries = {
  /** The state now, or as of a version or an instant: the seed's "balance yesterday". */
  'bank.account.get': {
    payload: { accountId: string; asOf?: Date; upToVersion?: number };
    result: BankAccountView & { version: number };
  };
  'bank.account.history': { payload: { accountId: string }; result: RecordedEvent[] };
  /** The account between two instants: its state as of `from`, then each event up to `to` with the state after it. */
  'bank.account.historyBetween': {
    payload: { accountId: string; from: Date; to: Date };
    result: { opening: (BankAccountView & { version: number }) | undefined; entries: Array<HistoryEntry<BankAccountState>> };
  };
};

/**
 * Snapshot options of the bank account decider. Bump `version` whenever bankAccountDecider's
 * evolve or state changes: older snapshots are then ignored (reported) and replaced.
 */
export const bankAccountSnapshots = (store: SnapshotStore): SnapshotOptions<BankAccountState> => ({ store, version: 1, every: 100 });

export function registerBankAccounts(
  store: StreamOperations,
  commands: CommandBus<ShopCommands>,
  queries: QueryBus<ShopQueries>,
  snapshotStore: SnapshotStore,
  stateCache?: StateCache,
): void {
  const snapshots = bankAccountSnapshots(snapshotStore);
  const handler = deciderCommandHandler(store, bankAccountDecider, (data) => bankAccountStreamId(data.accountId), bankAccountView, {
    snapshots,
    ...(stateCache && { cache: stateCache }),
  });
  commands.register('bank.account.open', handler('bank.account.open'));
  commands.register('bank.account.deposit', handler('bank.account.deposit'));
  commands.register('bank.account.withdraw', handler('bank.account.withdraw'));
  commands.register('bank.account.close', handler('bank.account.close'));

  queries.register('bank.account.get', async ({ accountId, asOf, upToVersion }) => {
    const { state, version, exists } = await loadAggregate(store, bankAccountStreamId(accountId), bankAccountDecider, {
      snapshots,
      ...(asOf && { asOf }),
      ...(upToVersion !== undefined && { upToVersion }),
    });
    // Before its first event the account did not exist: as of then it is as missing as a typo.
    if (!exists) throw new BankAccountNotFoundError(accountId);
    return { ...bankAccountView(state), version };
  });
  queries.register('bank.account.historyBetween', async ({ accountId, from, to }) => {
    const streamId = bankAccountStreamId(accountId);
    // The opening state comes from a snapshot when one lies before `from`, as do the entries' states.
    const opening = await loadAggregate(store, streamId, bankAccountDecider, { snapshots, asOf: from });
    const entries: Array<HistoryEntry<BankAccountState>> = [];
    for await (const entry of streamHistory(store, streamId, bankAccountDecider, { from, to, snapshots })) entries.push(entry);
    if (!opening.exists && entries.length === 0 && !(await store.streamExists(streamId))) throw new BankAccountNotFoundError(accountId);
    return { opening: opening.exists ? { ...bankAccountView(opening.state), version: opening.version } : undefined, entries };
  });
  queries.register('bank.account.history', async ({ accountId }) => {
    const events = await store.readStream(bankAccountStreamId(accountId));
    if (events.length === 0) throw new BankAccountNotFoundError(accountId);
    return events;
  });
}
