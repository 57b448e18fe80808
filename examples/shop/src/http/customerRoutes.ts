import { type ForgetResult, NotFoundError } from '@tidemark/core';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { idSchema, noBody } from './httpSchemas.js';

/** Forgetting a customer, as the shop runs it (createShop.ts): the key destroyed, then its copies erased. */
export type ForgetCustomer = (customerId: string) => Promise<ForgetResult & { readModelsUpToDate: boolean }>;

export class CustomerNotFoundError extends NotFoundError {
  constructor(customerId: string) {
    super(`Customer '${customerId}' has no personal data here`, { customerId });
  }
}

const customerParams = z.object({ id: idSchema });

/**
 * `DELETE /customers/:id/personal-data`: the right to erasure. Idempotent — a second call
 * answers 200 with status `already_forgotten` — and 404 for a customer the shop never held data
 * of. The body says what was erased: the customer's streams (their events now read the owner's
 * name and e-mail as '[redacted]') and whether the read models had caught up when it answered.
 */
export function customerRoutes(app: FastifyInstance, forget: ForgetCustomer): void {
  app.delete('/customers/:id/personal-data', async (request) => {
    const { id } = customerParams.parse(request.params);
    noBody.parse(request.body);
    const result = await forget(id);
    if (result.status === 'unknown') throw new CustomerNotFoundError(id);
    const accountIds = result.streamIds
      .filter((streamId) => streamId.startsWith('account-'))
      .map((streamId) => streamId.slice('account-'.length));
    return {
      customerId: id,
      status: result.status,
      erased: { fields: ['owner', 'email'], accountIds, streamIds: result.streamIds },
      readModelsUpToDate: result.readModelsUpToDate,
      ...(result.position !== undefined && { position: result.position }),
    };
  });
}
