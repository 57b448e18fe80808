import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { SchemaIssue } from './versioningErrors.js';

function pathText(path: StandardSchemaV1.Issue['path']): string {
  if (!path) return '';
  return path.map((segment) => String(typeof segment === 'object' && segment !== null ? segment.key : segment)).join('.');
}

/** A Standard Schema failure as plain, serialisable issues (dotted paths). */
export function schemaIssues(issues: readonly StandardSchemaV1.Issue[]): SchemaIssue[] {
  return issues.map((issue) => ({ path: pathText(issue.path), message: issue.message }));
}

/**
 * Validates `value`, synchronously when the schema answers synchronously: the issues (none:
 * valid), or a promise of them for an async schema.
 */
export function validateWith(schema: StandardSchemaV1, value: unknown): SchemaIssue[] | Promise<SchemaIssue[]> {
  const result = schema['~standard'].validate(value);
  if (result instanceof Promise) return result.then((settled) => (settled.issues ? schemaIssues(settled.issues) : []));
  return result.issues ? schemaIssues(result.issues) : [];
}
