import { type CliIo, projectionsRebuild, projectionsRebuildUsage } from './projections/projectionsRebuild.js';

const usage = `Usage: tidemark <command>

Commands:
  projections rebuild   rebuild a projection into shadow tables and swap it in

${projectionsRebuildUsage}`;

/** The command-line entry: dispatches on the first words, returns the exit code. */
export async function runCli(
  argv: readonly string[],
  io: CliIo = { stdout: process.stdout, stderr: process.stderr, interactive: process.stdout.isTTY === true },
): Promise<number> {
  const [group, command, ...rest] = argv;
  if (group === 'projections' && command === 'rebuild') return projectionsRebuild(rest, io);
  io.stderr.write(`${usage}\n`);
  return group === undefined || group === '--help' || group === '-h' ? 0 : 2;
}

// Run when executed directly (node --import tsx packages/cli/src/main.ts …), not when imported.
if (import.meta.url === `file://${process.argv[1]}`) {
  runCli(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`tidemark: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
