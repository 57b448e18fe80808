import { createHash } from 'node:crypto';
import type { StandardJSONSchemaV1, StandardSchemaV1 } from '@standard-schema/spec';

/** Converts a schema to JSON Schema when it cannot do so itself (zod 4: `z.toJSONSchema`). */
export type JsonSchemaConverter = (schema: StandardSchemaV1) => unknown;

/**
 * The JSON Schema of a version's data: through the Standard JSON Schema interface when the
 * schema implements it (zod ≥ 4.2, ArkType, Valibot's adapter), else the converter given to
 * the registry; undefined when neither can.
 */
export function jsonSchemaOf(schema: StandardSchemaV1, convert?: JsonSchemaConverter): unknown {
  const standard = (schema as unknown as Partial<StandardJSONSchemaV1>)['~standard'];
  try {
    if (standard?.jsonSchema) return standard.jsonSchema.input({ target: 'draft-2020-12' });
    return convert?.(schema);
  } catch {
    // "May throw if conversion is not supported" (a transform, a custom check): no JSON Schema then.
    return undefined;
  }
}

/** JSON text with object keys sorted at every level, so equal schemas print alike. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** sha-256 (hex) of the canonical JSON Schema: two registrations of the same version must agree on it. */
export function schemaFingerprint(jsonSchema: unknown): string | null {
  if (jsonSchema === undefined || jsonSchema === null) return null;
  return createHash('sha256').update(canonicalJson(jsonSchema)).digest('hex');
}
