import {
  type CryptoShredding,
  createCryptoShredding,
  createInMemoryCheckpointStore,
  createInMemoryEventStore,
  createInMemoryKeyStore,
  type EventStore,
  encryptedFieldKey,
  InvalidSubjectIdError,
  type KeyStore,
  MissingSubjectIdError,
  type NewEvent,
  PersonalDataTamperedError,
  type RecordedEvent,
  redactDeadLetters,
  redactedMarker,
  ValidationError,
} from '@tidemark/core';
import { describe, expect, it } from 'vitest';

const personalData = {
  'account.opened': { subject: (data: { ownerId: string }) => data.ownerId, fields: ['owner', 'email', 'address.street'] },
  // Version 2 of this type moved the e-mail; version 1 keeps the general declaration above.
  'account.opened.v2': { subject: (data: { ownerId: string }) => data.ownerId, fields: ['contact.email'] },
};

const opened = (ownerId: unknown, extra: Record<string, unknown> = {}): NewEvent => ({
  type: 'account.opened',
  data: { accountId: 'a-1', ownerId, owner: 'Ada Lovelace', email: 'ada@example.com', ...extra },
});

function world(keyStore: KeyStore = createInMemoryKeyStore(), options: { keyCacheTtlMs?: number } = {}) {
  const reported: unknown[] = [];
  const store = createInMemoryEventStore();
  const shredding = createCryptoShredding({ keyStore, personalData, onError: (error) => void reported.push(error), ...options });
  shredding.attachStore(store);
  return { store, shredding, reported, keyStore, ...staged(store, shredding) };
}

/** The store with the stage applied by hand, as the stores' `stages` option does once merged. */
function staged(store: EventStore, shredding: CryptoShredding) {
  return {
    append: async (streamId: string, events: readonly NewEvent[], options?: Parameters<EventStore['appendToStream']>[2]) =>
      store.appendToStream(streamId, await shredding.stage.write!(events, streamId), options),
    read: async (streamId: string): Promise<readonly RecordedEvent[]> => shredding.stage.read!(await store.readStream(streamId)),
  };
}

describe('crypto-shredding stage', () => {
  it('encrypts the declared fields (nested ones too) and leaves everything else as it was', async () => {
    const { store, append, read } = world();
    await append('account-1', [opened('cust-1', { address: { street: '12 Analytical Row', city: 'London' } })]);
    const [stored] = await store.readStream('account-1');
    const text = JSON.stringify(stored?.data);
    for (const plaintext of ['Ada Lovelace', 'ada@example.com', '12 Analytical Row']) expect(text).not.toContain(plaintext);
    expect(stored?.data).toMatchObject({ accountId: 'a-1', ownerId: 'cust-1', address: { city: 'London' } });
    expect((stored!.data as { owner: object }).owner).toHaveProperty([encryptedFieldKey]);
    expect((await read('account-1'))[0]?.data).toEqual({
      accountId: 'a-1',
      ownerId: 'cust-1',
      owner: 'Ada Lovelace',
      email: 'ada@example.com',
      address: { street: '12 Analytical Row', city: 'London' },
    });
  });

  it('uses the declaration of the event schema version when there is one', async () => {
    const { store, append, read } = world();
    const v2: NewEvent = {
      type: 'account.opened',
      schemaVersion: 2,
      data: { ownerId: 'c', owner: 'Visible', contact: { email: 'x@y.z' } },
    };
    await append('account-2', [v2]);
    const stored = JSON.stringify((await store.readStream('account-2'))[0]?.data);
    expect(stored).toContain('Visible');
    expect(stored).not.toContain('x@y.z');
    expect((await read('account-2'))[0]?.data).toEqual(v2.data);
  });

  it('passes undeclared events through: the same array back, synchronously', async () => {
    const { shredding, store } = world();
    const events: NewEvent[] = [{ type: 'account.deposited', data: { amount: 5 } }];
    expect(shredding.stage.write!(events, 'account-3')).toBe(events);
    await store.appendToStream('account-3', events);
    const recorded = await store.readStream('account-3');
    expect(shredding.stage.read!(recorded)).toBe(recorded);
  });

  it('needs no await once the subject key is cached, on either path', async () => {
    const { shredding, store, append } = world();
    await append('account-4', [opened('cust-4')]);
    const written = shredding.stage.write!([opened('cust-4')], 'account-4');
    expect(written).not.toBeInstanceOf(Promise);
    expect(shredding.stage.read!(await store.readStream('account-4'))).not.toBeInstanceOf(Promise);
  });

  it('refuses an event that declares personal data without a usable subject id, writing nothing', async () => {
    const { store, append } = world();
    const cases: Array<[unknown, new (...args: never[]) => Error]> = [
      [undefined, MissingSubjectIdError],
      ['', MissingSubjectIdError],
      [42, InvalidSubjectIdError],
      [{ id: 'x' }, InvalidSubjectIdError],
      ['bad\u0000id', InvalidSubjectIdError],
      // a bidirectional control: the subject id would display as another's when an operator forgets it
      ['bad\u202eid', InvalidSubjectIdError],
      ['x'.repeat(257), InvalidSubjectIdError],
    ];
    for (const [subject, type] of cases) {
      const refused = append('account-5', [{ type: 'account.deposited', data: { amount: 1 } }, opened(subject)]);
      await expect(refused).rejects.toBeInstanceOf(type);
      await expect(refused).rejects.toBeInstanceOf(ValidationError);
      await expect(refused).rejects.toMatchObject({ code: 'validation', details: { eventType: 'account.opened', index: 1 } });
    }
    // data that is not even an object: the subject function throws, which is a missing subject too
    await expect(append('account-5', [{ type: 'account.opened', data: null }])).rejects.toBeInstanceOf(MissingSubjectIdError);
    expect(await store.streamExists('account-5')).toBe(false);
  });

  it('reads tampered or moved ciphertext as redacted and reports it, never throwing at the reader', async () => {
    const { store, append, shredding, reported } = world();
    await append('account-6', [opened('cust-6')]);
    const [stored] = await store.readStream('account-6');
    const data = stored!.data as Record<string, { [encryptedFieldKey]: { ct: string } }>;
    const flipped = Buffer.from(data.owner![encryptedFieldKey].ct, 'base64');
    flipped[0]! ^= 1;
    const tampered: RecordedEvent = {
      ...stored!,
      data: {
        ...data,
        owner: { [encryptedFieldKey]: { ...data.owner![encryptedFieldKey], ct: flipped.toString('base64') } },
        // The e-mail's intact ciphertext, moved to another declared field: bound to its field, it fails too.
        address: { street: data.email },
      },
    };
    const [read] = await shredding.stage.read!([tampered]);
    expect(read?.data).toMatchObject({ owner: redactedMarker, address: { street: redactedMarker }, email: 'ada@example.com' });
    expect(reported).toHaveLength(2);
    expect(reported[0]).toBeInstanceOf(PersonalDataTamperedError);
    expect(reported[0]).toMatchObject({ details: { eventId: stored!.id, streamId: 'account-6', field: 'owner' } });
  });

  it('keeps a retried append with caller-supplied ids an idempotent retry', async () => {
    const { store, append } = world();
    const event = { ...opened('cust-7'), id: '0190a6b2-6f4e-7c1a-9b2d-3e4f5a6b7c8d' };
    const first = await append('account-7', [event], { expectedVersion: 'no_stream' });
    const retry = await append('account-7', [event], { expectedVersion: 'no_stream' });
    expect(first.written).toBe(true);
    expect(retry.written).toBe(false);
    expect(await store.readStream('account-7')).toHaveLength(1);
  });

  it('forgets: redacted on every later read, the subject’s streams named, other subjects untouched', async () => {
    const { store, append, read, shredding } = world();
    await append('account-8', [opened('cust-8')]);
    await append('account-9', [opened('cust-9')]);
    const heard: string[][] = [];
    shredding.onForgotten(({ streamIds }) => void heard.push(streamIds));
    expect(await shredding.forget('cust-8')).toMatchObject({ subjectId: 'cust-8', streamIds: ['account-8'], status: 'deleted' });
    expect((await read('account-8'))[0]?.data).toMatchObject({ ownerId: 'cust-8', owner: redactedMarker, email: redactedMarker });
    expect((await read('account-9'))[0]?.data).toMatchObject({ owner: 'Ada Lovelace' });
    expect(heard).toEqual([['account-8']]);
    expect(await shredding.forget('nobody')).toMatchObject({ status: 'unknown', streamIds: [] });
    expect(await store.readStream('privacy-forgotten')).toHaveLength(1);
    // A new event for the forgotten subject gets a new key: readable; the old one stays redacted.
    await append('account-8', [opened('cust-8', { owner: 'Ada King' })]);
    expect((await read('account-8')).map((event) => (event.data as { owner: string }).owner)).toEqual([redactedMarker, 'Ada King']);
  });

  it("sees another instance's forget once its key cache entry expires (the documented bound)", async () => {
    const keyStore = createInMemoryKeyStore();
    const writer = world(keyStore);
    const other = createCryptoShredding({ keyStore, personalData, keyCacheTtlMs: 0 });
    await writer.append('account-10', [opened('cust-10')]);
    const stored = await writer.store.readStream('account-10');
    expect((await other.stage.read!(stored))[0]?.data).toMatchObject({ owner: 'Ada Lovelace' });
    await writer.shredding.forget('cust-10');
    expect((await other.stage.read!(stored))[0]?.data).toMatchObject({ owner: redactedMarker });
  });

  it('rejects forget when a listener fails, after running the others; forgetting again retries them', async () => {
    const { append, shredding } = world();
    await append('account-11', [opened('cust-11')]);
    let attempts = 0;
    const erased: string[] = [];
    shredding.onForgotten(() => {
      attempts++;
      if (attempts === 1) throw new Error('snapshot store unreachable');
    });
    shredding.onForgotten(({ subjectId }) => void erased.push(subjectId));
    await expect(shredding.forget('cust-11')).rejects.toThrow('snapshot store unreachable');
    expect(erased).toEqual(['cust-11']);
    expect(await shredding.forget('cust-11')).toMatchObject({ status: 'already_forgotten', streamIds: ['account-11'] });
    expect(attempts).toBe(2);
  });

  it('refuses bad options and a forget without a store', async () => {
    const keyStore = createInMemoryKeyStore();
    expect(() => createCryptoShredding({ keyStore, personalData: { x: { subject: () => 'a', fields: [] } } })).toThrow(RangeError);
    expect(() => createCryptoShredding({ keyStore, personalData: { x: { subject: () => 'a', fields: ['a..b'] } } })).toThrow(RangeError);
    expect(() => createCryptoShredding({ keyStore, personalData, keyCacheTtlMs: -1 })).toThrow(ValidationError);
    const detached = createCryptoShredding({ keyStore, personalData });
    await expect(detached.forget('cust-1')).rejects.toBeInstanceOf(ValidationError);
    await expect(detached.forget('' as string)).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('redactDeadLetters', () => {
  it("redacts the forgotten subject's parked events and failure messages, leaving other records alone", async () => {
    const { store, append, read, shredding } = world();
    const checkpoints = createInMemoryCheckpointStore();
    await append('account-20', [opened('cust-20')]);
    await append('account-21', [opened('cust-21')]);
    const [ada] = await read('account-20');
    const [other] = await read('account-21');
    const letter = (event: RecordedEvent, projection: string) => ({
      projection,
      position: event.position,
      eventId: event.id,
      eventType: event.type,
      streamId: event.streamId,
      message: `cannot mail ${(event.data as { email: string }).email}`,
      attempts: 3,
      parkedAt: new Date(),
      event,
    });
    await store.transaction(async (tx) => {
      await checkpoints.park(letter(ada!, 'mailer'), tx);
      await checkpoints.park(letter(other!, 'mailer'), tx);
      await checkpoints.recordFailure(
        'balances',
        { ...letter(ada!, 'balances'), failedAt: new Date(), message: 'ada@example.com is not unique' },
        tx,
      );
    });
    shredding.onForgotten((forgotten) =>
      store.transaction((tx) => redactDeadLetters(checkpoints, tx, forgotten, shredding)).then(() => {}),
    );
    await shredding.forget('cust-20');
    const [letters, record] = await store.transaction(
      async (tx) => [await checkpoints.deadLetters('mailer', tx), await checkpoints.load('balances', tx)] as const,
    );
    const byStream = new Map(letters.map((parked) => [parked.streamId, parked]));
    expect(byStream.get('account-20')).toMatchObject({
      message: redactedMarker,
      event: { data: { ownerId: 'cust-20', owner: redactedMarker, email: redactedMarker, accountId: 'a-1' } },
    });
    expect(byStream.get('account-21')).toMatchObject({
      message: 'cannot mail ada@example.com',
      event: { data: { owner: 'Ada Lovelace' } },
    });
    expect(record?.failure).toMatchObject({ message: redactedMarker, position: ada!.position });
  });
});
