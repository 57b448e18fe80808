import { ValidationError } from '../domain/errors.js';

/**
 * An event type declared to carry personal data, appended without a usable subject id: its
 * fields cannot be encrypted to anyone, so the append is refused and nothing is written.
 */
export class MissingSubjectIdError extends ValidationError {
  constructor(eventType: string, index: number, options?: ErrorOptions) {
    super(`Event ${index} ('${eventType}') declares personal data but has no subject id`, { eventType, index }, options);
  }
}

/** The subject id is not a string of 1–256 characters without control characters. Nothing is written. */
export class InvalidSubjectIdError extends ValidationError {
  constructor(eventType: string, index: number, reason: string) {
    super(`Event ${index} ('${eventType}') has an invalid subject id: ${reason}`, { eventType, index, reason });
  }
}

/**
 * A personal-data field could not be decrypted although its subject's key exists: the
 * ciphertext, its IV or tag, or the subject or field it is bound to was changed after it was
 * written. Reported (never thrown at a reader); the field reads as the redaction marker.
 */
export class PersonalDataTamperedError extends ValidationError {
  constructor(details: { eventId: string; streamId: string; field: string }, options?: ErrorOptions) {
    super(`Personal data in field '${details.field}' of event ${details.eventId} failed authentication: redacted`, details, options);
  }
}
