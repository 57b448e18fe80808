import { createCipheriv, createDecipheriv, createHmac, randomFillSync } from 'node:crypto';
import type { SubjectKey } from './keyStore.js';

/** The one key of an encrypted field's value: `{ "tidemark:encrypted": { … } }`. */
export const encryptedFieldKey = 'tidemark:encrypted';

/**
 * An encrypted field as stored in the event's data, in clear JSON: the subject and key it
 * belongs to (so a reader finds the key without decrypting anything), the 96-bit IV, and the
 * ciphertext with its 128-bit GCM tag appended, both base64.
 */
export interface FieldEnvelope {
  v: 1;
  s: string;
  k: string;
  iv: string;
  ct: string;
}

const tagBytes = 16;
const ivBytes = 12;

// Random IVs are cut from a pool refilled from the CSPRNG 4,096 at a time: one randomBytes call
// per field costs more than the encryption itself. Each IV is used once, as GCM requires.
const ivPool = Buffer.alloc(ivBytes * 4096);
let ivOffset = ivPool.length;

function randomIv(): Buffer {
  if (ivOffset === ivPool.length) {
    randomFillSync(ivPool);
    ivOffset = 0;
  }
  const iv = Buffer.from(ivPool.subarray(ivOffset, ivOffset + ivBytes));
  ivOffset += ivBytes;
  return iv;
}

/**
 * Binds the ciphertext to its subject, its key and its field: moved to another field or to
 * another subject's event, it no longer authenticates.
 */
function associatedData(key: SubjectKey, field: string): Buffer {
  return Buffer.from(`tidemark:pii:v1\u0000${key.subjectId}\u0000${key.keyId}\u0000${field}`, 'utf8');
}

/**
 * The IV. Random for an event without an id. For an event with a caller-supplied id it is
 * synthetic — an HMAC of the id, the field and the plaintext under the subject's key — so a
 * retried append (same id, same data) produces the same bytes and stays an idempotent retry
 * instead of an IdempotencyConflictError; and since the plaintext is part of the input, two
 * different plaintexts never share an IV under one key (the one thing GCM must never do).
 */
function ivFor(key: SubjectKey, field: string, plaintext: string, eventId: string | undefined): Buffer {
  if (eventId === undefined) return randomIv();
  return createHmac('sha256', key.material).update(`${eventId}\u0000${field}\u0000${plaintext}`).digest().subarray(0, ivBytes);
}

export function encryptField(
  value: unknown,
  key: SubjectKey,
  field: string,
  eventId: string | undefined,
): { [encryptedFieldKey]: FieldEnvelope } {
  const plaintext = JSON.stringify(value);
  const iv = ivFor(key, field, plaintext, eventId);
  const cipher = createCipheriv('aes-256-gcm', key.material, iv);
  cipher.setAAD(associatedData(key, field));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return { [encryptedFieldKey]: { v: 1, s: key.subjectId, k: key.keyId, iv: iv.toString('base64'), ct: ct.toString('base64') } };
}

/** The envelope inside a field's value, or undefined when the value is not one (plaintext written before shredding was on). */
export function envelopeOf(value: unknown): FieldEnvelope | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const envelope = (value as Record<string, unknown>)[encryptedFieldKey];
  if (typeof envelope !== 'object' || envelope === null) return undefined;
  const { v, s, k, iv, ct } = envelope as Record<string, unknown>;
  if (v !== 1 || typeof s !== 'string' || typeof k !== 'string' || typeof iv !== 'string' || typeof ct !== 'string') return undefined;
  return envelope as FieldEnvelope;
}

/** The field's value; throws when the ciphertext does not authenticate under `key` (tampered). */
export function decryptField(envelope: FieldEnvelope, key: SubjectKey, field: string): unknown {
  const iv = Buffer.from(envelope.iv, 'base64');
  const sealed = Buffer.from(envelope.ct, 'base64');
  if (iv.length !== ivBytes || sealed.length < tagBytes) throw new Error('malformed envelope');
  const decipher = createDecipheriv('aes-256-gcm', key.material, iv, { authTagLength: tagBytes });
  decipher.setAAD(associatedData(key, field));
  decipher.setAuthTag(sealed.subarray(sealed.length - tagBytes));
  const plaintext = Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - tagBytes)), decipher.final()]).toString('utf8');
  return JSON.parse(plaintext);
}
