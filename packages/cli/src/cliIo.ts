/** Where a command writes: the process's streams, or buffers in tests. */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Draw a progress bar (a TTY); otherwise print a line per 10%. */
  interactive: boolean;
  /**
   * Ends a command that runs until interrupted (`events tail --follow`, `dashboard`). The process's
   * own is aborted by SIGINT or SIGTERM; a command that never reads it leaves them their default meaning.
   */
  signal?: AbortSignal;
}
