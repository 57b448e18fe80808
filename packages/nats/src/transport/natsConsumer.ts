import {
  AckPolicy,
  type ConsumerConfig,
  type ConsumerMessages,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import {
  type Consumer,
  callHandler,
  type DeliveredMessage,
  decodeEnvelope,
  encodeDeadLetter,
  errorText,
  failureText,
  KeyedDispatcher,
  type MessageHandler,
  RejectMessageError,
  type ResolvedConsumeOptions,
  ValidationError,
} from '@tidemark/core';
import type { NatsNames } from './natsNames.js';

export interface NatsConsumerContext {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly names: NatsNames;
  readonly ackWaitMs: number;
  /** The server's max_payload: no message, a dead letter included, may be larger. */
  readonly maxPayload: number;
  /** Server 2.10+ filters one consumer on several subjects; older servers get `<prefix>.>` and the client skips the rest. */
  readonly multipleFilters: boolean;
  /**
   * Server 2.10+ takes a reason with a term. Older ones know only a bare `+TERM`: a term with a
   * reason is ignored, and the dead-lettered message comes back after every ack_wait, for ever.
   */
  readonly termWithReason: boolean;
}

interface InHand {
  readonly msg: JsMsg;
  readonly key: string;
  readonly delivered: DeliveredMessage | undefined;
  /** Why the body could not be read as an envelope, when it could not. */
  readonly unreadable: string | undefined;
  readonly body: string;
}

/** Room left in max_payload for the dead letter's headers (its Nats-Msg-Id). */
const headerRoom = 4096;
/** How much of a message too large to dead-letter the dead letter keeps. */
const keptOfTooLarge = 1000;

const decoder = new TextDecoder();

function consumerConfig(context: NatsConsumerContext, options: ResolvedConsumeOptions): Partial<ConsumerConfig> {
  const { names } = context;
  const subjects = options.types.map((type) => names.subject(type));
  const filter =
    subjects.length === 1
      ? { filter_subject: subjects[0]! }
      : context.multipleFilters
        ? { filter_subjects: subjects }
        : { filter_subject: `${names.subjectPrefix}.>` };
  const from = options.startFrom;
  // The client sends the sequence as a JSON number: past 2^53 it would be rounded to another one.
  if (from.kind === 'sequence' && from.sequence > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new ValidationError(`startFrom.sequence must be at most ${Number.MAX_SAFE_INTEGER}`, { group: options.group });
  }
  const start =
    from.kind === 'all'
      ? { deliver_policy: DeliverPolicy.All }
      : from.kind === 'sequence'
        ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: Number(from.sequence) }
        : from.kind === 'time'
          ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: from.time.toISOString() }
          : { deliver_policy: DeliverPolicy.New };
  return {
    durable_name: names.durable(options.group),
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(context.ackWaitMs),
    // Unlimited at the broker: the client dead-letters after maxDeliveries, with the error, into a
    // stream. A broker-side limit would drop a message silently if a consumer died on its last try.
    max_deliver: -1,
    max_ack_pending: 20_000,
    ...filter,
    ...start,
  };
}

function isApiError(error: unknown, code: number): boolean {
  return error instanceof JetStreamApiError && error.code === code;
}

/** Creates the group's durable pull consumer unless it exists (then startFrom no longer applies). */
async function ensureDurable(context: NatsConsumerContext, options: ResolvedConsumeOptions): Promise<void> {
  const { jsm, names } = context;
  const durable = names.durable(options.group);
  const wanted = consumerConfig(context, options);
  let existing: ConsumerConfig;
  try {
    existing = (await jsm.consumers.info(names.stream, durable)).config;
  } catch (error) {
    if (!isApiError(error, JetStreamApiCodes.ConsumerNotFound)) throw error;
    await jsm.consumers.add(names.stream, wanted);
    return;
  }
  const filters = (config: Partial<ConsumerConfig>) =>
    [...(config.filter_subjects ?? []), ...(config.filter_subject ? [config.filter_subject] : [])].sort().join(',');
  if (filters(existing) === filters(wanted)) return;
  // The group now asks for other types: servers from 2.10 change the filter in place; older
  // ones cannot, and silently missing a type would be worse than refusing.
  try {
    await jsm.consumers.update(names.stream, durable, {
      filter_subject: wanted.filter_subject ?? '',
      filter_subjects: wanted.filter_subjects ?? [],
    });
  } catch (cause) {
    throw new ValidationError(
      `group '${options.group}' already consumes ${filters(existing)}; this NATS server cannot change it to ${filters(wanted)} — use a new group`,
      { group: options.group },
      { cause },
    );
  }
}

/**
 * One consumer of a group: a loop pulling only as many messages as it has room for (so a
 * stopped consumer leaves the rest to the others), a KeyedDispatcher running them — a key's
 * messages one at a time in stream order — and acknowledgement deadlines kept alive with
 * `working()` while messages run or wait for their key — also while stop() waits for them.
 * handlerTimeoutMs bounds that: a handler still running then is failed (nak'd with the retry
 * delay or dead-lettered), not kept alive.
 */
export async function startNatsConsumer(
  context: NatsConsumerContext,
  options: ResolvedConsumeOptions,
  handler: MessageHandler,
): Promise<Consumer & { abandon(): void }> {
  const { js, names } = context;
  await ensureDurable(context, options);
  const pull = await js.consumers.get(names.stream, names.durable(options.group));
  const wanted = new Set(options.types.map((type) => names.subject(type)));
  let stopped = false;
  let abandoned = false;
  let fetching: ConsumerMessages | undefined;
  let wakeStop = () => {};
  const stopSignal = new Promise<void>((resolve) => {
    wakeStop = resolve;
  });

  const settle = (action: () => void) => {
    if (abandoned) return;
    try {
      action();
    } catch {
      // The connection is gone: the broker redelivers after ack_wait, as for a crashed consumer.
    }
  };

  const deadLetter = async (item: InHand, error: unknown) => {
    const attempt = item.msg.info.deliveryCount;
    const text = failureText(errorText(error));
    let envelope = item.body;
    try {
      JSON.parse(envelope);
    } catch {
      envelope = JSON.stringify({ unreadable: envelope });
    }
    const dead = { group: options.group, error: text, attempt, sequence: BigInt(item.msg.seq), deadLetteredAt: new Date() };
    let body = encodeDeadLetter(envelope, dead);
    if (Buffer.byteLength(body) > context.maxPayload - headerRoom) {
      // The server would refuse it, the message would be nak'd and come back for ever (binary
      // grows several times as JSON text). The letter keeps its head; the stream keeps it whole.
      const bytes = item.msg.data.length;
      body = encodeDeadLetter(JSON.stringify({ truncated: item.body.slice(0, keptOfTooLarge) }), {
        ...dead,
        error: `${text} (the message, ${bytes} bytes, is too large for a dead letter: read it in stream ${names.stream} at sequence ${item.msg.seq})`,
      });
    }
    // The msgID makes a dead letter written twice (a crash before term) count once.
    await js.publish(names.deadLetterSubject(options.group), body, { msgID: `${options.group}:${item.msg.seq}` });
  };

  const run = async (item: InHand) => {
    if (abandoned) return;
    const attempt = item.msg.info.deliveryCount;
    let failure: unknown;
    try {
      if (!item.delivered) throw new RejectMessageError(item.unreadable);
      await callHandler(handler, item.delivered, options);
      settle(() => item.msg.ack());
      return;
    } catch (error) {
      failure = error ?? new Error('handler failed');
    }
    if (abandoned) return;
    if (failure instanceof RejectMessageError || attempt >= options.maxDeliveries) {
      try {
        await deadLetter(item, failure);
      } catch {
        // Not written: leave it unacknowledged, the broker redelivers and the next try dead-letters it.
        settle(() => item.msg.nak(options.retryDelayMs(attempt)));
        return;
      }
      settle(() => (context.termWithReason ? item.msg.term(failureText(errorText(failure)).slice(0, 200)) : item.msg.term()));
    } else {
      settle(() => item.msg.nak(options.retryDelayMs(attempt)));
    }
  };

  const dispatcher = new KeyedDispatcher<InHand>(options.concurrency, (item) => item.key, run);

  const accept = (msg: JsMsg) => {
    if (stopped) {
      // Pulled after stop: hand it straight back.
      settle(() => msg.nak());
      return;
    }
    if (!wanted.has(msg.subject)) {
      // A multi-type group on a server without filter_subjects sees every type: skip the others.
      settle(() => msg.ack());
      return;
    }
    const body = decoder.decode(msg.data);
    let delivered: DeliveredMessage | undefined;
    let unreadable: string | undefined;
    try {
      delivered = decodeEnvelope(body, msg.info.deliveryCount, {
        sequence: BigInt(msg.seq),
        routed: { type: msg.subject.slice(names.subjectPrefix.length + 1), by: `subject '${msg.subject}'` },
      });
    } catch (error) {
      unreadable = errorText(error);
    }
    dispatcher.push({ msg, body, delivered, unreadable, key: delivered?.key ?? `\u0000unreadable:${msg.seq}` });
  };

  const heartbeat = setInterval(
    () => {
      for (const item of dispatcher.held()) settle(() => item.msg.working());
    },
    Math.max(100, Math.floor(context.ackWaitMs / 3)),
  );

  const loop = async () => {
    let backoff = 50;
    while (!stopped) {
      const room = dispatcher.room;
      if (room === 0) {
        await Promise.race([dispatcher.changed(), stopSignal]);
        continue;
      }
      try {
        const batch = await pull.fetch({ max_messages: room, expires: 2000 });
        fetching = batch;
        // Stopped while the pull request was being sent: end it now rather than at its expiry.
        if (stopped) batch.stop();
        for await (const msg of batch) accept(msg);
        backoff = 50;
      } catch (error) {
        if (stopped) break;
        if (isApiError(error, JetStreamApiCodes.ConsumerNotFound)) {
          // The server lost the consumer (a memory-store server restarted): make it again.
          await ensureDurable(context, options).catch(() => {});
        }
        await Promise.race([new Promise((resolve) => setTimeout(resolve, backoff)), stopSignal]);
        backoff = Math.min(2000, backoff * 2);
      } finally {
        fetching = undefined;
      }
    }
  };
  const looping = loop();

  // Stops taking messages. The heartbeat is not stopped here: see stop() and abandon().
  const halt = () => {
    stopped = true;
    wakeStop();
    fetching?.stop();
  };

  return {
    async stop() {
      halt();
      try {
        await looping;
        // The messages still in hand keep their deadlines alive until each one settles (its
        // handler finishes or handlerTimeoutMs fails it; the dispatcher then lets it go, so the
        // heartbeat ends with it). Stopping the heartbeat before would let JetStream redeliver a
        // message whose handler runs past ack_wait during shutdown to another consumer of the
        // group while this one still runs it: a duplicate on every slow graceful shutdown.
        await dispatcher.idle();
      } finally {
        clearInterval(heartbeat);
      }
    },
    abandon() {
      // Like a crash: nothing is settled or kept alive any more, the broker redelivers after ack_wait.
      abandoned = true;
      halt();
      clearInterval(heartbeat);
    },
  };
}
