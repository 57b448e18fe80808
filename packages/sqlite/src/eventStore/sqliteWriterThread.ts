import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { CommitOutcomeUnknownError, type PreparedAppend } from '@tidemark/core';
import type { BatchOutcome } from './sqliteBatchWriter.js';
import {
  decodeError,
  decodeOutcomes,
  flattenBatch,
  type WriterReply,
  type WriterRequest,
  type WriterThreadData,
} from './writerThreadMessages.js';

/** The main thread's handle on the store's writer thread (sqliteWriterWorker.ts). */
export interface SqliteWriterThread {
  /**
   * 'starting' until its connection is open, then 'running'; 'failed' if it never opened or died;
   * 'closed' once close() has ended it (the thread has exited).
   */
  readonly state: 'starting' | 'running' | 'failed' | 'closed';
  /** Writes one batch there; the outcomes come back in order, as the same-thread batch writer gives them. */
  write(batch: readonly PreparedAppend[], recordedAt: number): Promise<BatchOutcome[]>;
  /**
   * Closes its connection and ends the thread; batches in flight finish first. Resolves once the
   * thread has exited (not merely said it closed its connection); calling it again gives the same promise.
   */
  close(): Promise<void>;
}

export interface SqliteWriterThreadOptions extends WriterThreadData {
  /** Told when the thread could not open its connection or died: the store goes on writing on its own. */
  onFailure(error: unknown): void;
}

/**
 * In the repository the packages run from their TypeScript sources (the tidemark:source
 * condition): there the worker is the .ts file next to this one, loaded after registering tsx
 * in the thread (Node 20 does not pass the parent's --import hooks on to a worker).
 */
function createWorker(workerData: WriterThreadData): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./sqliteWriterWorker.js', import.meta.url), { workerData });
  // Resolved here, where the package is known to be (a test runner may not offer
  // import.meta.resolve): require gives the CommonJS build, whose ESM twin sits beside it.
  const tsx = pathToFileURL(
    createRequire(import.meta.url)
      .resolve('tsx/esm/api')
      .replace(/\.cjs$/, '.mjs'),
  ).href;
  const entry = new URL('./sqliteWriterWorker.ts', import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}

export function startSqliteWriterThread(options: SqliteWriterThreadOptions): SqliteWriterThread {
  const { onFailure, ...data } = options;
  let worker: Worker;
  try {
    // The defaults as JSON serialises them, which is all the thread uses them for (comparing a
    // retry's metadata, idempotentAppend.ts): structured clone would copy a value with a toJSON
    // (a version object, say) as its bare fields, so a retry after a deploy would differ there
    // and not here, and would refuse a symbol or a function outright.
    const defaultMetadata =
      data.defaultMetadata && (JSON.parse(JSON.stringify(data.defaultMetadata)) as WriterThreadData['defaultMetadata']);
    worker = createWorker({ ...data, defaultMetadata });
  } catch (error) {
    // Could not even be started: the store writes on its own thread, as when the thread's
    // connection fails to open, instead of failing its creation (or the append that started it).
    onFailure(error);
    let closedState = false;
    return {
      get state() {
        return closedState ? 'closed' : 'failed';
      },
      write: () => Promise.reject(error),
      close() {
        closedState = true;
        return Promise.resolve();
      },
    };
  }
  let ready = false;
  let failed: unknown;
  let nextId = 0;
  const pending = new Map<
    number,
    { batch: readonly PreparedAppend[]; recordedAt: number; resolve(outcomes: BatchOutcome[]): void; reject(error: unknown): void }
  >();
  /** close() was called: the thread's exit is expected, not a failure. */
  let closing: Promise<void> | undefined;
  /** The thread has exited (after close(), or on its own: then it failed). */
  let exited = false;

  function fail(error: unknown): void {
    if (failed !== undefined) return;
    failed = error;
    ready = false;
    onFailure(error);
    // Batches it had taken may or may not have committed: their callers cannot tell either way.
    for (const request of pending.values()) {
      request.reject(
        new CommitOutcomeUnknownError(
          'The SQLite writer thread failed while it held this append: it may or may not be committed',
          {},
          { cause: error },
        ),
      );
    }
    pending.clear();
  }

  worker.on('message', (reply: WriterReply) => {
    switch (reply.kind) {
      case 'ready':
        ready = failed === undefined;
        return;
      case 'failed':
        fail(decodeError(reply.error));
        void worker.terminate();
        return;
      case 'closed':
        // Its connection is closed and nothing is left for it to do: ended now rather than
        // whenever its event loop empties, so close() resolves with the thread really gone.
        void worker.terminate();
        return;
      case 'batch': {
        const request = pending.get(reply.id);
        if (!request) return;
        pending.delete(reply.id);
        if (pending.size === 0) worker.unref();
        request.resolve(decodeOutcomes(reply.outcomes, request.batch, request.recordedAt));
      }
    }
  });
  worker.on('error', (error) => fail(error));
  worker.on('exit', (code) => {
    exited = true;
    if (!closing) fail(new Error(`The SQLite writer thread exited (code ${code})`));
  });
  // Idle, it must not keep the process alive; a batch in flight holds a ref (write, below).
  // After the listeners: adding a 'message' listener refs the worker again, so an unref()
  // before it was undone and a store that was never closed kept its process running for ever.
  worker.unref();

  return {
    get state() {
      if (closing && exited) return 'closed';
      if (failed !== undefined) return 'failed';
      return ready ? 'running' : 'starting';
    },
    write(batch, recordedAt) {
      if (failed !== undefined) return Promise.reject(failed);
      // Posted to a thread that is closing or gone, it would never be answered.
      if (closing) return Promise.reject(new Error('The SQLite writer thread is closed'));
      const id = nextId++;
      return new Promise<BatchOutcome[]>((resolve, reject) => {
        pending.set(id, { batch, recordedAt, resolve, reject });
        worker.ref();
        worker.postMessage({ kind: 'batch', id, recordedAt, batch: flattenBatch(batch) } satisfies WriterRequest);
      });
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        if (exited) {
          resolve();
          return;
        }
        // After the listener above: the thread counts as exited when this resolves.
        worker.once('exit', () => resolve());
        if (failed !== undefined) {
          void worker.terminate();
          return;
        }
        // It closes its connection after the batches it was sent, then says so ('closed', above).
        worker.ref();
        worker.postMessage({ kind: 'close' } satisfies WriterRequest);
      });
      return closing;
    },
  };
}
