/** An error's message on one line, for a start-up failure printed as one line naming the setting. */
export function oneLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ');
}
