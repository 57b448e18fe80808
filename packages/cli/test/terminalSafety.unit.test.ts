import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteCheckpointStore, createSqliteEventStore } from '@tidemark/sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCaptured as run } from './runCaptured.js';

const dir = mkdtempSync(join(tmpdir(), 'tidemark-cli-terminal-'));
const file = join(dir, 'store.db');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// What a hostile writer can put in a store: a window-title OSC, colours, a carriage return and a
// backspace, an 8-bit CSI (C1), DEL, and a right-to-left override that reorders what follows.
const hostile = '\x1b]0;owned\x07\x1b[31mred\x1b[0m\r\bX\x9b2J\x7f\u202Etxt.exe';
// Every character a terminal acts on instead of showing, bar the newline ending each line.
const unsafe = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

describe('output of untrusted store content', () => {
  beforeAll(async () => {
    const store = createSqliteEventStore({ file });
    const checkpoints = createSqliteCheckpointStore();
    // Names refuse control and bidi characters on append; data, checkpoint names and failure
    // messages take anything.
    const { events } = await store.appendToStream('order-1', [{ type: 'order.placed', data: { note: hostile } }]);
    const event = events[0]!;
    await store.transaction(async (tx) => {
      await checkpoints.save(`list${hostile}`, 0n, 0n, tx);
      const failure = { eventId: event.id, eventType: event.type, streamId: event.streamId, attempts: 1 };
      await checkpoints.recordFailure(
        `list${hostile}`,
        { ...failure, position: event.position, message: `boom${hostile}`, failedAt: new Date() },
        tx,
      );
    });
    await store.close();
  });

  it.each([[['stream', 'order-1']], [['events', 'tail']], [['projections', 'status']], [['projections', 'failed']]])(
    '%j prints control and bidi characters escaped, as \\uXXXX',
    async (argv) => {
      const { code, stdout, stderr } = await run([...argv, '--sqlite', file]);
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(stdout).not.toMatch(unsafe);
      expect(stdout).toContain('\\u202e');
    },
  );

  it('refuses a stream id holding a bidi override, naming the code point', async () => {
    // A failed command is thrown for the process entry to print on one escaped line (exit code 1).
    await expect(run(['stream', 'order-\u202Egpj.exe', '--sqlite', file])).rejects.toThrow(/U\+202E/);
  });

  it.each([[['events', 'tail']], [['projections', 'failed']], [['stream', 'order-1']]])(
    '%j --json escapes them too, and parses back to the stored text',
    async (argv) => {
      const { stdout } = await run([...argv, '--sqlite', file, '--json']);
      expect(stdout).not.toMatch(unsafe);
      expect(stdout).toContain('\\u009b2J');
      const text = JSON.stringify(JSON.parse(stdout.trim().split('\n')[0] as string));
      expect(text).toContain(JSON.stringify(hostile).slice(1, -1));
    },
  );

  it('an error naming an argument escapes it on its one line of stderr', async () => {
    // (A missing --sqlite file is no bad argument any more but a failed command: runCliProcess prints that one.)
    const { code, stderr } = await run(['streams', '--postgres', 'postgres://h/db', '--schema', `typo${hostile}`]);
    expect(code).toBe(2);
    expect(stderr).toContain('typo');
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr.trimEnd()).not.toMatch(unsafe);
  });
});
