import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { commandContext } from './commandContext.js';
import { idSchema, noBody, quantitySchema } from './httpSchemas.js';
import type { ShopRouteBuses } from './shopCommandSender.js';

const skuParams = z.object({ sku: idSchema });
const reservationParams = z.object({ sku: idSchema, orderId: idSchema });
const receiptBody = z.strictObject({ quantity: quantitySchema });
const reservationBody = z.strictObject({ orderId: idSchema, quantity: quantitySchema });

export function inventoryRoutes(app: FastifyInstance, { commands, queries }: ShopRouteBuses): void {
  app.post('/inventory/:sku/receipts', async (request, reply) => {
    const { sku } = skuParams.parse(request.params);
    const { quantity } = receiptBody.parse(request.body);
    const context = commandContext(request);
    const result = await commands.send(
      'inventory.item.receive',
      { data: { sku, quantity }, expectedVersion: context.expectedVersion },
      context,
    );
    return reply.header('etag', `"${result.version}"`).send(result);
  });

  app.post('/inventory/:sku/reservations', async (request, reply) => {
    const { sku } = skuParams.parse(request.params);
    const { orderId, quantity } = reservationBody.parse(request.body);
    const context = commandContext(request);
    const result = await commands.send(
      'inventory.item.reserve',
      { data: { sku, orderId, quantity }, expectedVersion: context.expectedVersion },
      context,
    );
    return reply.header('etag', `"${result.version}"`).send(result);
  });

  app.delete('/inventory/:sku/reservations/:orderId', async (request, reply) => {
    const { sku, orderId } = reservationParams.parse(request.params);
    noBody.parse(request.body);
    const context = commandContext(request);
    const result = await commands.send(
      'inventory.item.release',
      { data: { sku, orderId }, expectedVersion: context.expectedVersion },
      context,
    );
    return reply.header('etag', `"${result.version}"`).send(result);
  });

  app.get('/inventory/:sku', async (request, reply) => {
    const { sku } = skuParams.parse(request.params);
    const item = await queries.ask('inventory.item.get', { sku });
    return reply.header('etag', `"${item.version}"`).send(item);
  });
}
