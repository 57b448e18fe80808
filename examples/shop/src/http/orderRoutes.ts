import { newId } from '@tidemark/core';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { commandContext } from './commandContext.js';
import { centsSchema, idParams, idSchema, noBody, quantitySchema, textSchema } from './httpSchemas.js';
import type { ShopRouteBuses } from './shopCommandSender.js';

const createBody = z.strictObject({ orderId: idSchema.optional(), customerId: idSchema });
const itemBody = z.strictObject({ sku: idSchema, quantity: quantitySchema, unitPrice: centsSchema.nonnegative() });
const itemParams = z.object({ id: idSchema, sku: idSchema });
// Placing takes no body; cancelling may say why. An absent body is fine for both.
const cancelBody = z.strictObject({ reason: textSchema(500).optional() }).optional();

export function orderRoutes(app: FastifyInstance, { commands, queries }: ShopRouteBuses): void {
  app.post('/orders', async (request, reply) => {
    const body = createBody.parse(request.body);
    const context = commandContext(request);
    const orderId = body.orderId ?? newId();
    const result = await commands.send(
      'sales.order.create',
      { data: { orderId, customerId: body.customerId }, expectedVersion: context.expectedVersion },
      context,
    );
    // From the result, not the id made above: a replayed Idempotency-Key answers with the first request's id.
    return reply.code(201).header('location', `/orders/${result.orderId}`).header('etag', `"${result.version}"`).send(result);
  });

  app.post('/orders/:id/items', async (request, reply) => {
    const { id } = idParams.parse(request.params);
    const item = itemBody.parse(request.body);
    const context = commandContext(request);
    const result = await commands.send(
      'sales.order.add_item',
      { data: { orderId: id, ...item }, expectedVersion: context.expectedVersion },
      context,
    );
    return reply.header('etag', `"${result.version}"`).send(result);
  });

  app.delete('/orders/:id/items/:sku', async (request, reply) => {
    const { id, sku } = itemParams.parse(request.params);
    noBody.parse(request.body);
    const context = commandContext(request);
    const result = await commands.send(
      'sales.order.remove_item',
      { data: { orderId: id, sku }, expectedVersion: context.expectedVersion },
      context,
    );
    return reply.header('etag', `"${result.version}"`).send(result);
  });

  app.post('/orders/:id/place', async (request, reply) => {
    const { id } = idParams.parse(request.params);
    noBody.parse(request.body);
    const context = commandContext(request);
    const result = await commands.send('sales.order.place', { data: { orderId: id }, expectedVersion: context.expectedVersion }, context);
    return reply.header('etag', `"${result.version}"`).send(result);
  });

  app.post('/orders/:id/cancel', async (request, reply) => {
    const { id } = idParams.parse(request.params);
    const body = cancelBody.parse(request.body);
    const context = commandContext(request);
    const result = await commands.send(
      'sales.order.cancel',
      { data: { orderId: id, ...(body?.reason !== undefined && { reason: body.reason }) }, expectedVersion: context.expectedVersion },
      context,
    );
    return reply.header('etag', `"${result.version}"`).send(result);
  });

  app.get('/orders/:id', async (request, reply) => {
    const { id } = idParams.parse(request.params);
    const order = await queries.ask('sales.order.get', { orderId: id });
    return reply.header('etag', `"${order.version}"`).send(order);
  });
}
