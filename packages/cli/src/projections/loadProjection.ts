import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Projection, ValidationError } from '@tidemark/core';
import type { SqlTx } from '../store/openStore.js';

const isProjection = (value: unknown): value is Projection<SqlTx> =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as Projection).name === 'string' &&
  typeof (value as Projection).apply === 'function';

/** Finds the named projection among a module's exports (directly, or inside exported arrays). */
export async function loadProjection(modulePath: string, name: string): Promise<Projection<SqlTx>> {
  const url = pathToFileURL(isAbsolute(modulePath) ? modulePath : resolve(process.cwd(), modulePath)).href;
  const exports = (await import(url)) as Record<string, unknown>;
  const candidates = Object.values(exports).flatMap((value) => (Array.isArray(value) ? value : [value]));
  const found = candidates.filter(isProjection).find((projection) => projection.name === name);
  if (!found) {
    const names = [...new Set(candidates.filter(isProjection).map((p) => p.name))].join(', ') || 'none';
    throw new ValidationError(`Module ${modulePath} exports no projection named '${name}' (it exports: ${names})`, { field: 'projection' });
  }
  return found;
}
