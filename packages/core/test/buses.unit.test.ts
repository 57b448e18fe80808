import { type CommandMetadata, createCommandBus, createQueryBus, UnknownMessageError, ValidationError } from '@tidemark/core';
import { describe, expect, it } from 'vitest';

type Commands = {
  'cart.add_item': { payload: { sku: string }; result: number };
  'cart.clear': { payload: Record<string, never>; result: undefined };
};
type Queries = {
  'cart.get': { payload: { id: string }; result: { id: string; items: number } };
};

describe('command bus', () => {
  it('routes a command to its handler with payload and metadata, returning its result', async () => {
    const bus = createCommandBus<Commands>();
    const seen: Array<[unknown, CommandMetadata]> = [];
    bus.register('cart.add_item', async (payload, metadata) => {
      seen.push([payload, metadata]);
      return 3;
    });
    expect(await bus.send('cart.add_item', { sku: 'A' }, { commandId: 'c-1' })).toBe(3);
    expect(await bus.send('cart.add_item', { sku: 'B' })).toBe(3);
    expect(seen).toEqual([
      [{ sku: 'A' }, { commandId: 'c-1' }],
      [{ sku: 'B' }, {}],
    ]);
  });

  it('rejects an unknown command type with UnknownMessageError', async () => {
    const bus = createCommandBus<Commands>();
    const error = await bus.send('cart.clear', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownMessageError);
    expect(error).toMatchObject({ code: 'unknown_message', details: { kind: 'command', type: 'cart.clear' } });
  });

  it('refuses a second handler for the same type, keeping the first', async () => {
    const bus = createCommandBus<Commands>();
    bus.register('cart.add_item', async () => 1);
    expect(() => bus.register('cart.add_item', async () => 2)).toThrow(ValidationError);
    expect(await bus.send('cart.add_item', { sku: 'A' })).toBe(1);
  });

  it('runs middleware in registration order, wrapped around the handler like an onion', async () => {
    const bus = createCommandBus<Commands>();
    const log: string[] = [];
    bus.use(async (type, _payload, _metadata, next) => {
      log.push(`outer in ${type}`);
      const result = await next();
      log.push(`outer out ${String(result)}`);
      return result;
    });
    bus.use(async (_type, payload, metadata, next) => {
      log.push(`inner in ${(payload as { sku: string }).sku} ${metadata.userId}`);
      const result = await next();
      log.push('inner out');
      return result;
    });
    bus.register('cart.add_item', async () => {
      log.push('handler');
      return 7;
    });
    expect(await bus.send('cart.add_item', { sku: 'A' }, { userId: 'u-1' })).toBe(7);
    expect(log).toEqual(['outer in cart.add_item', 'inner in A u-1', 'handler', 'inner out', 'outer out 7']);
  });

  it('lets middleware stop a command before its handler, and sees handler errors', async () => {
    const bus = createCommandBus<Commands>();
    let handled = 0;
    bus.register('cart.add_item', async ({ sku }) => {
      handled++;
      if (sku === 'boom') throw new Error('handler failed');
      return 1;
    });
    const caught: unknown[] = [];
    bus.use(async (_type, payload, _metadata, next) => {
      if ((payload as { sku: string }).sku === '') throw new ValidationError('sku is required');
      try {
        return await next();
      } catch (error) {
        caught.push(error);
        throw error;
      }
    });
    await expect(bus.send('cart.add_item', { sku: '' })).rejects.toBeInstanceOf(ValidationError);
    expect(handled).toBe(0);
    await expect(bus.send('cart.add_item', { sku: 'boom' })).rejects.toThrow('handler failed');
    expect(caught).toHaveLength(1);
  });
});

describe('query bus', () => {
  it('routes a query to its handler and returns its answer', async () => {
    const bus = createQueryBus<Queries>();
    bus.register('cart.get', async ({ id }) => ({ id, items: 2 }));
    expect(await bus.ask('cart.get', { id: 'cart-1' })).toEqual({ id: 'cart-1', items: 2 });
  });

  it('rejects an unknown query type with UnknownMessageError', async () => {
    const bus = createQueryBus<Queries>();
    const error = await bus.ask('cart.get', { id: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownMessageError);
    expect(error).toMatchObject({ details: { kind: 'query', type: 'cart.get' } });
  });

  it('refuses a second handler for the same type, keeping the first', async () => {
    const bus = createQueryBus<Queries>();
    bus.register('cart.get', async ({ id }) => ({ id, items: 1 }));
    expect(() => bus.register('cart.get', async ({ id }) => ({ id, items: 9 }))).toThrow(ValidationError);
    expect(await bus.ask('cart.get', { id: 'c' })).toEqual({ id: 'c', items: 1 });
  });
});
