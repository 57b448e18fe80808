/** Which fields of one event type hold personal data, and whose. */
export interface PersonalDataDeclaration {
  /**
   * The data subject the fields belong to (a customer id, say): the key that encrypts them is
   * that subject's. It must stay a clear field of the event — it is how the key is found on
   * read and how `forget` finds the subject's streams.
   */
  // biome-ignore lint/suspicious/noExplicitAny: the declarations of all event types share one record, each typed by its own data (an interface or a type).
  subject(data: any): unknown;
  /** Field paths inside `data`: `email`, or `address.street` for a nested one. */
  fields: readonly string[];
}

/**
 * Per event type — `account.opened` for every schema version, or `account.opened.v2` for one
 * (the qualified name wins) — the personal data it carries.
 */
export type PersonalDataDeclarations = Readonly<Record<string, PersonalDataDeclaration>>;
