import type { AddressInfo } from 'node:net';
import { createShop, type Shop, type ShopOptions } from '../../src/createShop.js';
import { type ShopClient, shopClient } from './shopClient.js';

/**
 * The shop as main.ts composes it (store, projectors, cache, monitoring, HTTP), listening on a
 * free port of 127.0.0.1. The monitoring timer is off unless asked for: its lag probe appends
 * marker events, which would move the positions the tests assert on.
 */
export async function startShop(options: ShopOptions): Promise<{ shop: Shop; client: ShopClient; url: string }> {
  const shop = await createShop({ monitoringIntervalMs: 0, ...options });
  try {
    await shop.start();
    await shop.app.listen({ port: 0, host: '127.0.0.1' });
  } catch (error) {
    await shop.close();
    throw error;
  }
  const { port } = shop.app.server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return { shop, client: shopClient(url), url };
}
