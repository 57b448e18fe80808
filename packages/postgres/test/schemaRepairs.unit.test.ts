import { describe, expect, it } from 'vitest';
import { reportSchemaRepairs, schemaRepairLines } from '../src/schema/schemaRepairs.js';

const nothing = { applied: [], functionsRecreatedFrom: [], positionsRebased: false, outboxSequenceAdvanced: false };

describe('what a PostgreSQL store tells of the repairs it made as it opened', () => {
  it('one line per repair, none for migrations alone', () => {
    expect(schemaRepairLines('shop', { ...nothing, applied: [1, 2, 3] })).toEqual([]);
    expect(
      schemaRepairLines('shop', {
        applied: [],
        functionsRecreatedFrom: ['shop_old', 'other'],
        positionsRebased: true,
        outboxSequenceAdvanced: true,
      }),
    ).toEqual([
      "Re-created the store's functions for schema shop: they named schema shop_old, other (renamed or restored under another name).",
      'Rebased positions: the store came from another cluster, new events now sort after its history.',
      "Advanced the outbox's sequence past its restored messages.",
    ]);
  });

  it('tells onError once, says nothing when nothing was repaired, and survives a reporter that throws', () => {
    const reported: Array<{ error: unknown; context: string }> = [];
    reportSchemaRepairs('shop', { ...nothing, applied: [4] }, (error, context) => reported.push({ error, context }));
    expect(reported).toEqual([]);
    reportSchemaRepairs('shop', { ...nothing, positionsRebased: true }, (error, context) => reported.push({ error, context }));
    expect(reported).toEqual([
      {
        context: 'The PostgreSQL store repaired schema shop as it opened',
        error: new Error('Rebased positions: the store came from another cluster, new events now sort after its history.'),
      },
    ]);
    expect(() =>
      reportSchemaRepairs('shop', { ...nothing, outboxSequenceAdvanced: true }, () => {
        throw new Error('reporter down');
      }),
    ).not.toThrow();
  });
});
