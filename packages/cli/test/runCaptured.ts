import { runCli } from '../src/main.js';
import { captureOutput } from './captureOutput.js';

/** Runs the CLI in-process, non-interactive, with what it printed to stdout and stderr. */
export async function runCaptured(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = captureOutput();
  const err = captureOutput();
  const code = await runCli(argv, { stdout: out.stream, stderr: err.stream, interactive: false });
  return { code, stdout: out.text(), stderr: err.text() };
}
