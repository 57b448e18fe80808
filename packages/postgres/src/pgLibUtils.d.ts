/**
 * pg's value serialisation for Bind messages (Date, Buffer, arrays, JSON, toPostgres): a
 * Submittable that writes its own Bind must map values exactly as pg's queries do. pg exports
 * the module (its "./lib/*" export, used by pg-cursor too) without type definitions.
 */
declare module 'pg/lib/utils.js' {
  const utils: { prepareValue(value: unknown): unknown };
  export default utils;
}
