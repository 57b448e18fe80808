import { NestedStoreCallError, newId, type RecordedEvent } from '@tidemark/core';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { commandContext } from './commandContext.js';
import { centsSchema, idParams, idSchema, noBody, textSchema } from './httpSchemas.js';
import type { ShopRouteBuses } from './shopCommandSender.js';

const openBody = z.strictObject({
  accountId: idSchema.optional(),
  /** The data subject of the owner's name and e-mail; absent, the account is its own. */
  customerId: idSchema.optional(),
  owner: textSchema(200),
  email: z.email().max(254).optional(),
  initialDeposit: centsSchema.nonnegative(),
});
const amountBody = z.strictObject({ amount: centsSchema.positive() });
const temporalQuery = z.object({
  asOf: z.iso.datetime({ offset: true }).optional(),
  version: z
    .string()
    .regex(/^\d{1,15}$/, 'must be a whole number ≥ 0')
    .transform(Number)
    .optional(),
});

const historyWindow = z.object({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
});

const historyEntry = (event: RecordedEvent) => ({
  id: event.id,
  type: event.type,
  schemaVersion: event.schemaVersion,
  version: event.version,
  position: event.position,
  recordedAt: event.recordedAt.toISOString(),
  data: event.data,
  metadata: event.metadata,
});

/**
 * Creates the data subject's key outside any transaction. A command with an Idempotency-Key runs
 * in one, where a key store on SQLite cannot create a key (NestedStoreCallError).
 */
export type PrepareSubject = (subjectId: string) => Promise<void>;

/** The key store refused to create a subject's first key inside the command's transaction. */
function needsKeyOutsideTransaction(error: unknown): boolean {
  return error instanceof NestedStoreCallError && error.details.operation === 'keyStore.getOrCreateKey';
}

export function bankAccountRoutes(app: FastifyInstance, { commands, queries }: ShopRouteBuses, prepareSubject?: PrepareSubject): void {
  app.post('/accounts', async (request, reply) => {
    const body = openBody.parse(request.body);
    const context = commandContext(request);
    const accountId = body.accountId ?? newId();
    const data = {
      accountId,
      owner: body.owner,
      initialDeposit: body.initialDeposit,
      ...(body.customerId !== undefined && { customerId: body.customerId }),
      ...(body.email !== undefined && { email: body.email }),
    };
    const open = () => commands.send('bank.account.open', { data, expectedVersion: context.expectedVersion }, context);
    // The key is made only once the command got as far as appending (its transaction rolled
    // back, so it runs again whole): a refused or replayed request leaves no key behind.
    const result = await open().catch(async (error: unknown) => {
      if (!prepareSubject || !needsKeyOutsideTransaction(error)) throw error;
      await prepareSubject(body.customerId ?? accountId);
      return open();
    });
    // From the result, not the id made above: a replayed Idempotency-Key answers with the first request's id.
    return reply.code(201).header('location', `/accounts/${result.accountId}`).header('etag', `"${result.version}"`).send(result);
  });

  app.post('/accounts/:id/deposits', async (request, reply) => {
    const { id } = idParams.parse(request.params);
    const { amount } = amountBody.parse(request.body);
    const context = commandContext(request);
    const result = await commands.send(
      'bank.account.deposit',
      { data: { accountId: id, amount }, expectedVersion: context.expectedVersion },
      context,
    );
    return reply.header('etag', `"${result.version}"`).send(result);
  });

  app.post('/accounts/:id/withdrawals', async (request, reply) => {
    const { id } = idParams.parse(request.params);
    const { amount } = amountBody.parse(request.body);
    const context = commandContext(request);
    const result = await commands.send(
      'bank.account.withdraw',
      { data: { accountId: id, amount }, expectedVersion: context.expectedVersion },
      context,
    );
    return reply.header('etag', `"${result.version}"`).send(result);
  });

  app.post('/accounts/:id/close', async (request, reply) => {
    const { id } = idParams.parse(request.params);
    noBody.parse(request.body);
    const context = commandContext(request);
    const result = await commands.send(
      'bank.account.close',
      { data: { accountId: id }, expectedVersion: context.expectedVersion },
      context,
    );
    return reply.header('etag', `"${result.version}"`).send(result);
  });

  // The temporal query of seed 003: `?asOf=<ISO time>` or `?version=<n>` folds only the events up to then.
  app.get('/accounts/:id', async (request, reply) => {
    const { id } = idParams.parse(request.params);
    const { asOf, version } = temporalQuery.parse(request.query);
    const account = await queries.ask('bank.account.get', {
      accountId: id,
      ...(asOf !== undefined && { asOf: new Date(asOf) }),
      ...(version !== undefined && { upToVersion: version }),
    });
    return reply.header('etag', `"${account.version}"`).send(account);
  });

  // Every event, or with `?from=&to=` (ISO times) the window between them: the balance as of
  // `from`, then each event up to `to` with the balance after it.
  app.get('/accounts/:id/history', async (request) => {
    const { id } = idParams.parse(request.params);
    const window = historyWindow.parse(request.query);
    if (window.from !== undefined || window.to !== undefined) {
      const from = new Date(window.from ?? 0);
      const to = window.to === undefined ? new Date() : new Date(window.to);
      const { opening, entries } = await queries.ask('bank.account.historyBetween', { accountId: id, from, to });
      return {
        accountId: id,
        from: from.toISOString(),
        to: to.toISOString(),
        opening: opening ?? null,
        events: entries.map(({ event, state }) => ({ ...historyEntry(event), balance: state.balance })),
      };
    }
    const events = await queries.ask('bank.account.history', { accountId: id });
    return { accountId: id, events: events.map(historyEntry) };
  });
}
