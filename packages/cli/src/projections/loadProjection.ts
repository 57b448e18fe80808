import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Projection, ValidationError } from '@tidemark/core';
import type { ModuleStages, SqlTx } from '../store/openStore.js';

const isProjection = (value: unknown): value is Projection<SqlTx> =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as Projection).name === 'string' &&
  typeof (value as Projection).apply === 'function';

/** What `--module` provides: the named projection, and the application's event stages when it exports them. */
export interface ProjectionModule {
  projection: Projection<SqlTx>;
  /** The module's `stages` export: an array of event stages, or a function of the opened store returning them. */
  stages?: ModuleStages;
}

/**
 * Finds the named projection among a module's exports (directly, or inside exported arrays), and
 * the export named `stages`: the stages the application gives its store (upcasting, validation,
 * crypto-shredding), so that the CLI replays events as the application reads them.
 */
export async function loadProjection(modulePath: string, name: string): Promise<ProjectionModule> {
  const url = pathToFileURL(isAbsolute(modulePath) ? modulePath : resolve(process.cwd(), modulePath)).href;
  const exports = (await import(url)) as Record<string, unknown>;
  const candidates = Object.values(exports).flatMap((value) => (Array.isArray(value) ? value : [value]));
  const found = candidates.filter(isProjection).find((projection) => projection.name === name);
  if (!found) {
    const names = [...new Set(candidates.filter(isProjection).map((p) => p.name))].join(', ') || 'none';
    throw new ValidationError(`Module ${modulePath} exports no projection named '${name}' (it exports: ${names})`, { field: 'projection' });
  }
  const { stages } = exports;
  if (stages === undefined) return { projection: found };
  if (typeof stages !== 'function' && !Array.isArray(stages)) {
    throw new ValidationError(
      `Module ${modulePath} exports 'stages' that is neither an array of event stages nor a function returning one`,
      {
        field: 'stages',
      },
    );
  }
  return { projection: found, stages: stages as ModuleStages };
}
