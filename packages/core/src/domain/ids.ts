import { v7 } from 'uuid';

/** Time-ordered UUIDv7: ids sort by creation time, which keeps index inserts local. */
export function newId(): string {
  return v7();
}
