/** A dotted field path split once: `address.street` → ['address', 'street']. */
export type FieldPath = readonly string[];

export function parseFieldPath(path: string): FieldPath {
  const parts = path.split('.');
  if (parts.some((part) => part === '')) throw new RangeError(`'${path}' is not a field path (empty segment)`);
  return parts;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The value at `path`, or undefined when the path does not lead anywhere. */
export function valueAt(data: unknown, path: FieldPath): unknown {
  let current = data;
  for (const part of path) {
    if (!isRecord(current) || !Object.hasOwn(current, part)) return undefined;
    current = current[part];
  }
  return current;
}

/**
 * A copy of `data` with `value` at `path`: only the objects on the path are copied, the rest is
 * shared — the caller's event is never mutated. `data` must lead to the path (see valueAt).
 */
export function withValueAt(data: unknown, path: FieldPath, value: unknown): Record<string, unknown> {
  const copy = { ...(data as Record<string, unknown>) };
  const [head, ...rest] = path as [string, ...string[]];
  copy[head] = rest.length === 0 ? value : withValueAt(copy[head], rest, value);
  return copy;
}
