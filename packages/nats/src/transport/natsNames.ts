import { createHash } from 'node:crypto';
import { ValidationError } from '@tidemark/core';

/** The stream and subject names one NATS transport uses, derived from its options. */
export interface NatsNames {
  /** Stream holding the messages, subjects `<prefix>.<type>`. */
  readonly stream: string;
  /** Stream holding the dead letters, subjects `<prefix>_dlq.<group>`. */
  readonly deadLetterStream: string;
  readonly subjectPrefix: string;
  subject(type: string): string;
  deadLetterSubject(group: string): string;
  /** JetStream durable names may not contain '.', which group names may. */
  durable(group: string): string;
}

const streamName = /^[A-Za-z0-9_-]{1,200}$/;
const subjectPrefix = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

export function natsNames(stream: string, prefix: string): NatsNames {
  if (!streamName.test(stream)) throw new ValidationError('stream must be 1–200 letters, digits, _ or -', { stream });
  if (!subjectPrefix.test(prefix) || prefix.length > 100) {
    throw new ValidationError('subjectPrefix must be dot-separated tokens of letters, digits, _ or -', { subjectPrefix: prefix });
  }
  return {
    stream,
    deadLetterStream: `${stream}_DLQ`,
    subjectPrefix: prefix,
    subject: (type) => `${prefix}.${type}`,
    deadLetterSubject: (group) => `${prefix}_dlq.${group}`,
    durable(group) {
      if (!group.includes('.')) return group;
      // Replacing '.' alone would let 'a.b' and 'a_b' share a consumer; the hash keeps them apart.
      const hash = createHash('sha256').update(group).digest('hex').slice(0, 10);
      return `${group.replaceAll('.', '_')}_${hash}`;
    },
  };
}
