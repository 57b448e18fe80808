import { ValidationError } from '../domain/errors.js';
import type { RecordedEvent } from '../domain/event.js';
import { isSchemaVersion, maxSchemaVersion } from '../domain/isSchemaVersion.js';
import { assertValidName } from '../eventStore/prepareAppend.js';
import type { OutgoingMessage } from '../transport/transport.js';
import { prepareMessages } from '../transport/transportInput.js';

/** How one private domain event type becomes a public integration message. */
export interface IntegrationMapping {
  /** The public type, `domain.entity.action` (`shop.order.placed`): a rename when it differs. */
  type: string;
  /** Schema version of the public payload, independent of the event's. Default 1. */
  schemaVersion?: number;
  /** The public payload: pick, rename and drop fields here, so internal fields never leak. */
  data(event: RecordedEvent): unknown;
  /** Only events passing this are published (all of the type when absent). */
  filter?(event: RecordedEvent): boolean;
  /** Ordering key. Default the event's stream id: one entity's messages stay in order. */
  key?(event: RecordedEvent): string;
}

/**
 * Turns private domain events into public integration messages, so that internal events are not
 * a public contract. Event types with no mapping are private: they map to nothing.
 */
export interface MessageMapper {
  /** The domain event types that have a mapping: a relay or consumer reads only these. */
  readonly eventTypes: readonly string[];
  map(event: RecordedEvent): OutgoingMessage | undefined;
}

/** Metadata carried end to end as headers (strings only). */
const carriedMetadata = ['correlationId', 'causationId', 'traceparent', 'tenantId', 'userId'] as const;

/**
 * Builds a mapper from one mapping per domain event type. The message id is the event's id, so
 * a message published twice (a relay restarting) is the same message to the broker's and the
 * inbox's de-duplication; `occurredAt` is the event's recordedAt; correlation, causation,
 * traceparent, tenant and user travel as headers, with the event id as `eventId`.
 */
export function createMessageMapper(mappings: Readonly<Record<string, IntegrationMapping>>): MessageMapper {
  if (mappings === null || typeof mappings !== 'object') throw new ValidationError('mappings must be an object', { field: 'mappings' });
  for (const [eventType, mapping] of Object.entries(mappings)) {
    assertValidName(mapping.type, `mapping of ${eventType}: type`);
    // The public type becomes a broker name (a subject, a routing key): checked by the transports' rule.
    prepareMessages([{ id: 'x', type: mapping.type, schemaVersion: 1, key: 'x', data: null }]);
    const version = mapping.schemaVersion ?? 1;
    // It becomes the outgoing messages' schemaVersion: a version no outbox could keep is refused now.
    if (!isSchemaVersion(version)) {
      throw new ValidationError(`mapping of ${eventType}: schemaVersion must be a whole number from 1 to ${maxSchemaVersion}`, {
        eventType,
      });
    }
    if (typeof mapping.data !== 'function') throw new ValidationError(`mapping of ${eventType}: data must be a function`, { eventType });
  }
  return {
    eventTypes: Object.keys(mappings),
    map(event) {
      if (!Object.hasOwn(mappings, event.type)) return undefined;
      const mapping = mappings[event.type] as IntegrationMapping;
      if (mapping.filter && !mapping.filter(event)) return undefined;
      const headers: Record<string, string> = { eventId: event.id };
      for (const name of carriedMetadata) {
        const value = event.metadata[name];
        if (typeof value === 'string') headers[name] = value;
      }
      return {
        id: event.id,
        type: mapping.type,
        schemaVersion: mapping.schemaVersion ?? 1,
        key: mapping.key ? mapping.key(event) : event.streamId,
        data: mapping.data(event),
        headers,
        occurredAt: event.recordedAt,
      };
    },
  };
}
