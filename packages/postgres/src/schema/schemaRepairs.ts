import type { ErrorReporter } from '@tidemark/core';
import type { MigrationReport } from './migrate.js';

/**
 * One line per repair `migrateWithReport` made besides migrations (the functions re-created for
 * a renamed schema, positions rebased, the outbox's sequence advanced); none when it made none.
 */
export function schemaRepairLines(schema: string, report: MigrationReport): string[] {
  const lines: string[] = [];
  if (report.functionsRecreatedFrom.length > 0) {
    lines.push(
      `Re-created the store's functions for schema ${schema}: they named schema ${report.functionsRecreatedFrom.join(', ')} (renamed or restored under another name).`,
    );
  }
  if (report.positionsRebased) lines.push('Rebased positions: the store came from another cluster, new events now sort after its history.');
  if (report.outboxSequenceAdvanced) lines.push("Advanced the outbox's sequence past its restored messages.");
  return lines;
}

/** The process warning's code when no `onError` was given. */
export const schemaRepairedWarningCode = 'TIDEMARK_SCHEMA_REPAIRED';

/**
 * Tells the operator what a store repaired in its schema as it opened: the same repairs
 * `tidemark migrate` prints, made silently otherwise. Through the store's `onError`, its one
 * channel for what it must say but not throw, as an Error whose message names the repairs; by
 * default a process warning (stderr unless the application listens for 'warning'), with a code
 * of its own rather than the one of failed callbacks. Nothing when nothing was repaired.
 */
export function reportSchemaRepairs(schema: string, report: MigrationReport, onError: ErrorReporter | undefined): void {
  const lines = schemaRepairLines(schema, report);
  if (lines.length === 0) return;
  const context = `The PostgreSQL store repaired schema ${schema} as it opened`;
  const message = lines.join(' ');
  if (!onError) {
    process.emitWarning(`${context}: ${message}`, { code: schemaRepairedWarningCode });
    return;
  }
  try {
    onError(new Error(message), context);
  } catch {
    // A reporter that throws must not fail an opening whose repairs have committed.
  }
}
