import { JetStreamApiError, type JetStreamManager, jetstream, jetstreamManager, StorageType, type StreamConfig } from '@nats-io/jetstream';
import { connect, nanos } from '@nats-io/transport-node';
import {
  checkGroupName,
  type DeadLetteredMessage,
  deadLetterLimit,
  decodeDeadLetter,
  encodeEnvelope,
  PayloadTooLargeError,
  prepareMessages,
  resolveConsumeOptions,
  ServerUnreachableError,
  TidemarkError,
  type Transport,
  unreachableSocketError,
  ValidationError,
} from '@tidemark/core';
import { startNatsConsumer } from './natsConsumer.js';
import { natsMessageId } from './natsMessageId.js';
import { natsNames } from './natsNames.js';

export interface NatsTransportOptions {
  /** `nats://host:port`, one or several. */
  readonly servers: string | readonly string[];
  /** Stream name (the dead letters go to `<stream>_DLQ`). Default `TIDEMARK`. */
  readonly stream?: string;
  /** Messages are published to `<subjectPrefix>.<type>`, dead letters to `<subjectPrefix>_dlq.<group>`. Default `tidemark`. */
  readonly subjectPrefix?: string;
  /** The broker drops a re-published message id (Nats-Msg-Id) within this window; at most maxAgeMs. Default 2 minutes (or maxAgeMs, if shorter). */
  readonly duplicateWindowMs?: number;
  /** A message not acknowledged within this time (its consumer died) is redelivered. Default 30 s. */
  readonly ackWaitMs?: number;
  /** How long the stream keeps messages: 0 keeps them until limits say otherwise, else at least 100. Default 0. */
  readonly maxAgeMs?: number;
  /** `file` (default, survives a broker restart) or `memory`. */
  readonly storage?: 'file' | 'memory';
  /**
   * How long a publish waits for its PubAck before the call rejects (and the relay repeats it).
   * A publish written just before the server died is never answered, so this bounds the stall
   * after a broker crash. Default 5 s.
   */
  readonly publishTimeoutMs?: number;
  /** Publishes in flight at once within one publish call: a whole number of at least 1. Default 256. */
  readonly publishWindow?: number;
  /** Connection name shown by the server. */
  readonly name?: string;
}

/** The longest duration JetStream takes: its configuration holds nanoseconds in an int64. */
const maxDurationMs = 9_000_000_000_000;
/** The longest a Node timer waits; beyond it, it fires after 1 ms. */
const maxTimerMs = 2 ** 31 - 1;

function positive(value: number, what: string, max = maxDurationMs): number {
  if (!Number.isFinite(value) || value < 0 || value > max)
    throw new ValidationError(`${what} must be a number of milliseconds from 0 to ${max}`, { [what]: value });
  return value;
}

/** host:port of a `nats://` address (a bare `host:port` too), never its user or password. */
function serverOf(address: string): { host: string; port: number } | undefined {
  try {
    const url = new URL(address.includes('://') ? address : `nats://${address}`);
    return url.hostname === '' ? undefined : { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 4222) };
  } catch {
    return undefined;
  }
}

/** JetStream's code for a stream name already taken by a stream of another configuration. */
const streamNameInUse = 10058;

/** Adds a stream, or brings an existing one's subjects and limits to what this transport needs. */
async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }): Promise<void> {
  try {
    await jsm.streams.info(config.name);
  } catch (error) {
    if (!(error instanceof JetStreamApiError) || error.status !== 404) throw error;
    try {
      await jsm.streams.add(config);
      return;
    } catch (addError) {
      // Another process created it meanwhile: fall through to the update. Any other refusal (a
      // limit the server rejects, subjects another stream holds) is the answer: the info below
      // would only report the stream missing.
      if (!(addError instanceof JetStreamApiError) || addError.code !== streamNameInUse) throw addError;
    }
  }
  const { name, storage: _storage, ...update } = config;
  const info = await jsm.streams.info(name);
  await jsm.streams.update(name, { ...info.config, ...update });
}

const textEncoder = new TextEncoder();

function serverAtLeast(version: string | undefined, major: number, minor: number): boolean {
  const [a, b] = (version ?? '0.0').split('.').map(Number);
  return (a ?? 0) > major || ((a ?? 0) === major && (b ?? 0) >= minor);
}

/**
 * The NATS JetStream transport: a streaming log. Creates or updates its stream (subjects
 * `<prefix>.<type>`, a de-duplication window keyed by Nats-Msg-Id = message id, see natsMessageId) and a
 * dead-letter stream; each consumer group is a durable pull consumer, acknowledged explicitly,
 * nak'd with the retry delay, dead-lettered (with the error) after maxDeliveries and term'd.
 * Groups can start from all history, a stream sequence or a time.
 *
 * Guarantees: at least once; within one consumer a key's messages run one at a time in stream
 * order (also with concurrency > 1). Across competing consumers of a group, and after a retry
 * (the nak'd message comes back after its delay, behind later ones), a key's order is not kept:
 * run one consumer per group where strict order matters, and let the inbox or stream versions
 * judge stale messages.
 */
export async function createNatsTransport(options: NatsTransportOptions): Promise<Transport> {
  const names = natsNames(options.stream ?? 'TIDEMARK', options.subjectPrefix ?? 'tidemark');
  // The consumers renew acknowledgement deadlines on a timer of a third of it.
  const ackWaitMs = positive(options.ackWaitMs ?? 30_000, 'ackWaitMs', maxTimerMs);
  const maxAgeMs = positive(options.maxAgeMs ?? 0, 'maxAgeMs');
  // The default window is shortened to a shorter maxAgeMs: JetStream refuses a window past it.
  const duplicateWindowMs = positive(
    options.duplicateWindowMs ?? (maxAgeMs === 0 ? 120_000 : Math.min(120_000, maxAgeMs)),
    'duplicateWindowMs',
  );
  // What JetStream refuses, named here rather than as the server's error for the stream.
  if (maxAgeMs !== 0 && maxAgeMs < 100) throw new ValidationError('maxAgeMs must be 0 (no limit) or at least 100', { maxAgeMs });
  if (maxAgeMs !== 0 && duplicateWindowMs > maxAgeMs) {
    throw new ValidationError('duplicateWindowMs must not exceed maxAgeMs: the stream cannot remember ids longer than it keeps messages', {
      duplicateWindowMs,
      maxAgeMs,
    });
  }
  const publishTimeoutMs = Math.max(1, positive(options.publishTimeoutMs ?? 5000, 'publishTimeoutMs', maxTimerMs));
  const publishWindow = options.publishWindow ?? 256;
  // NaN once made every slice empty: publish resolved having sent nothing.
  if (!Number.isSafeInteger(publishWindow) || publishWindow < 1) {
    throw new ValidationError('publishWindow must be a whole number of at least 1', { publishWindow });
  }
  // 'bogus' once meant file storage, and an empty server list the client's default localhost:4222.
  if (options.storage !== undefined && options.storage !== 'file' && options.storage !== 'memory') {
    throw new ValidationError("storage must be 'file' or 'memory'", { storage: options.storage });
  }
  const storage = options.storage === 'memory' ? StorageType.Memory : StorageType.File;
  const servers: unknown[] =
    typeof options.servers === 'string' ? [options.servers] : Array.isArray(options.servers) ? options.servers : [];
  if (servers.length === 0 || servers.some((server) => typeof server !== 'string' || server.trim() === '')) {
    throw new ValidationError('servers must be a nats:// address or a non-empty list of them', { field: 'servers' });
  }

  const nc = await connect({
    servers: typeof options.servers === 'string' ? options.servers : [...options.servers],
    name: options.name ?? 'tidemark',
    // A broker outage is waited out, not fatal: publishes fail (the relay retries), consumers resume.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
  }).catch((error: unknown) => {
    // The first connection is not retried: a server never reached says so, as the stores' do.
    const socket = unreachableSocketError(error);
    if (!socket) throw error;
    throw new ServerUnreachableError('NATS', servers.length === 1 ? serverOf(String(servers[0])) : undefined, socket, { cause: error });
  });
  try {
    const jsm = await jetstreamManager(nc);
    await ensureStream(jsm, {
      name: names.stream,
      subjects: [`${names.subjectPrefix}.>`],
      storage,
      duplicate_window: nanos(duplicateWindowMs),
      max_age: nanos(maxAgeMs),
    });
    await ensureStream(jsm, {
      name: names.deadLetterStream,
      subjects: [`${names.subjectPrefix}_dlq.>`],
      storage,
      duplicate_window: nanos(duplicateWindowMs),
      allow_direct: true,
    });
    const js = jetstream(nc);
    const context = {
      js,
      jsm,
      names,
      ackWaitMs,
      // The server's default, should it not say.
      maxPayload: nc.info?.max_payload ?? 1024 * 1024,
      multipleFilters: serverAtLeast(nc.info?.version, 2, 10),
      termWithReason: serverAtLeast(nc.info?.version, 2, 10),
    };
    const consumers = new Set<{ abandon(): void }>();
    let closed = false;
    const open = () => {
      if (closed) throw new TidemarkError('connection_lost', 'the NATS transport is closed');
    };

    return {
      name: 'jetstream',
      replayable: true,
      async publish(messages) {
        open();
        const prepared = prepareMessages(messages);
        const now = new Date();
        // Encoded and measured before anything is sent: the client refuses a message over the
        // server's max_payload (body and headers) only when its turn comes, after the ones before
        // it went out — a partial publish.
        const outgoing = prepared.map((p, index) => {
          const body = textEncoder.encode(encodeEnvelope(p, now));
          const msgID = natsMessageId(p.message.id);
          // The header block the client sends with it, which max_payload counts too.
          const size = body.length + Buffer.byteLength(`NATS/1.0\r\nNats-Msg-Id: ${msgID}\r\n\r\n`);
          if (size > context.maxPayload) {
            const limit = context.maxPayload;
            throw new PayloadTooLargeError(`message ${index} is ${size} bytes; the NATS server takes at most ${limit}`, {
              limit,
              actual: size,
              index,
            });
          }
          return { subject: names.subject(p.message.type), body, msgID };
        });
        // Pipelined on one connection: the server appends them in the order sent.
        try {
          for (let start = 0; start < outgoing.length; start += publishWindow) {
            await Promise.all(
              outgoing
                .slice(start, start + publishWindow)
                .map((m) => js.publish(m.subject, m.body, { msgID: m.msgID, timeout: publishTimeoutMs })),
            );
          }
        } catch (error) {
          // close() ended the connection under it: the client's RequestError says only that a request failed.
          if (closed) {
            throw new TidemarkError(
              'connection_lost',
              'the NATS transport was closed while this publish was in flight: some of its messages may have been stored (publishing them again is safe within the duplicate window)',
              {},
              { cause: error },
            );
          }
          throw error;
        }
      },
      async consume(consumeOptions, handler) {
        open();
        const consumer = await startNatsConsumer(context, resolveConsumeOptions(consumeOptions), handler);
        consumers.add(consumer);
        return {
          async stop() {
            await consumer.stop();
            consumers.delete(consumer);
          },
        };
      },
      async deadLetters(group, deadLetterOptions) {
        open();
        const limit = deadLetterLimit(deadLetterOptions);
        // Checked: the group is spliced into the subject looked up, where '*' or '>' would match every group's.
        const subject = names.deadLetterSubject(checkGroupName(group));
        const found: DeadLetteredMessage[] = [];
        let seq = 1;
        while (found.length < limit) {
          const stored = await jsm.direct.getMessage(names.deadLetterStream, { seq, next_by_subj: subject }).catch((error: unknown) => {
            if (error instanceof JetStreamApiError && error.status === 404) return null;
            throw error;
          });
          if (!stored) break;
          found.push(decodeDeadLetter(stored.string()));
          seq = stored.seq + 1;
        }
        return found;
      },
      async waiting(group) {
        open();
        const info = await jsm.consumers.info(names.stream, names.durable(checkGroupName(group))).catch((error: unknown) => {
          if (error instanceof JetStreamApiError && error.status === 404) return null;
          throw error;
        });
        return info?.num_pending ?? 0;
      },
      async close() {
        if (closed) return;
        closed = true;
        // Like a dropped connection: what consumers hold unacknowledged is redelivered after ack_wait.
        for (const consumer of consumers) consumer.abandon();
        await nc.close();
      },
    };
  } catch (error) {
    await nc.close();
    throw error;
  }
}
