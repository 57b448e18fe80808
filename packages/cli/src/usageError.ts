/** Bad command-line arguments: reported as one line with exit code 2, never with a stack. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
