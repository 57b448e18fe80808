/** Where a store reports failures it must not throw: afterCommit callbacks, wake-up listeners. */
export type ErrorReporter = (error: unknown, context: string) => void;

/**
 * The default reporter: a process warning (printed on stderr by Node unless the application
 * listens for 'warning' events), so a failing callback is never silent and never fatal.
 */
export const warnOnError: ErrorReporter = (error, context) => {
  const message = error instanceof Error ? error.message : String(error);
  process.emitWarning(`${context}: ${message}`, { code: 'TIDEMARK_CALLBACK_FAILED' });
};

/**
 * Runs callbacks after a commit: each one whatever the others do, a throw or a rejection
 * reported and swallowed — the transaction is committed, and saying otherwise would invite a
 * retry that writes it twice.
 */
export function runAfterCommit(callbacks: ReadonlyArray<() => unknown>, report: ErrorReporter, context: string): void {
  for (const callback of callbacks) {
    try {
      const result = callback();
      if (result instanceof Promise) result.catch((error: unknown) => report(error, context));
    } catch (error) {
      report(error, context);
    }
  }
}
