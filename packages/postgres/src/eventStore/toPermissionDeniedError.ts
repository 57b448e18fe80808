import { PermissionDeniedError } from '@tidemark/core';

/**
 * PostgreSQL's messages for SQLSTATE 42501 name the object's kind and name, unquoted: "permission
 * denied for table events", "permission denied for schema shop", "must be owner of function
 * append_to_stream". Others ("permission denied to create role") name none.
 */
const objectNamed = /^(?:permission denied for|must be owner of) (.+) (\S+)$/;

/**
 * An insufficient_privilege error as PermissionDeniedError, naming the object when the message
 * does; undefined for any other error. The raw error stays the cause.
 */
export function toPermissionDeniedError(error: unknown): PermissionDeniedError | undefined {
  const raised = error as { code?: unknown; message?: unknown } | null;
  if (raised?.code !== '42501' || typeof raised.message !== 'string') return undefined;
  const named = objectNamed.exec(raised.message);
  const object = named ? { objectType: named[1], object: named[2] } : {};
  return new PermissionDeniedError(
    `The database role this store connects as lacks a privilege: ${raised.message}. Grant it to that role, or run the step as the schema's owner (\`tidemark migrate\` for DDL)`,
    { sqlState: '42501', ...object },
    { cause: error },
  );
}
