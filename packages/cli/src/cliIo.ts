/** Where a command writes: the process's streams, or buffers in tests. */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Draw a progress bar (a TTY); otherwise print a line per 10%. */
  interactive: boolean;
  /**
   * Ends a command that runs until interrupted (`events tail --follow`). The process's own is
   * aborted by SIGINT; a command that never reads it leaves SIGINT its default meaning.
   */
  signal?: AbortSignal;
}
