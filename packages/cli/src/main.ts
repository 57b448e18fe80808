import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Command, CommanderError } from 'commander';
import type { CliIo } from './cliIo.js';
import { escapeControls } from './output/escapeControls.js';
import { createProgram } from './program.js';
import { UsageError } from './usageError.js';

/** An error message on one line with nothing a terminal acts on: it may quote arguments or store content. */
const oneLine = (text: string) => escapeControls(text.replace(/\s+/g, ' ').trim());

/**
 * The command-line entry: runs one command, returns the exit code. Bad arguments (an unknown
 * command or option, a missing or malformed value) are one line on stderr and exit code 2, so
 * a script can tell them from a failed run; `--help` prints the usage on stdout (exit code 0).
 * A failure of the command itself is thrown, for {@link runCliProcess} to report (exit code 1).
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const program = createProgram(io);
  if (argv.length === 0) {
    program.outputHelp();
    return 0;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed') return 0;
      // A command group named without its subcommand: commander would print the group's help as an
      // error, or, when options follow (`events --sqlite f`), call the first of them unknown.
      const group = groupWithoutSubcommand(program, argv);
      const message =
        group && (error.code === 'commander.help' || error.code === 'commander.unknownOption')
          ? `${group.path}: missing a subcommand (${group.subcommands.join(', ')})`
          : error.message.replace(/^error: /, '');
      io.stderr.write(`tidemark: ${oneLine(message)} (see tidemark --help)\n`);
      return 2;
    }
    if (!(error instanceof UsageError)) throw error;
    io.stderr.write(`tidemark: ${oneLine(error.message)} (see tidemark --help)\n`);
    return 2;
  }
}

/**
 * The command group argv names without going on to one of its subcommands (`events`, `projections
 * --sqlite f`): its path and its subcommands; undefined when argv names a command that runs.
 */
function groupWithoutSubcommand(program: Command, argv: readonly string[]): { path: string; subcommands: string[] } | undefined {
  let command = program;
  const path: string[] = [];
  for (const word of argv) {
    if (word.startsWith('-')) break;
    const next = command.commands.find((candidate) => candidate.name() === word || candidate.aliases().includes(word));
    if (!next) return undefined; // an unknown command: commander's message names it
    command = next;
    path.push(word);
  }
  if (path.length === 0 || command.commands.length === 0) return undefined;
  return { path: path.join(' '), subcommands: command.commands.map((sub) => sub.name()) };
}

function processIo(): CliIo {
  const controller = new AbortController();
  let listening = false;
  const stop = () => controller.abort();
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    interactive: process.stdout.isTTY === true,
    // Only a command that asks for the signal takes SIGINT and SIGTERM (a service manager's stop)
    // over; for the others they still end the process.
    get signal() {
      if (!listening) {
        listening = true;
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      }
      return controller.signal;
    },
  };
}

/** Runs the CLI as this process: exit code 0, 1 (the command failed, one line) or 2 (bad arguments). */
export async function runCliProcess(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  endOnClosedStdout();
  try {
    process.exitCode = await runCli(argv);
  } catch (error) {
    process.stderr.write(`tidemark: ${oneLine(error instanceof Error ? error.message : String(error))}\n`);
    process.exitCode = 1;
  }
}

/**
 * A reader that has gone (`tidemark events tail --follow | head -1`) wants no more output: the
 * command ends at once with exit code 0 instead of dying on an unhandled EPIPE with a stack, or
 * following on for nobody. Any other failure to write is the usual one line and exit code 1.
 */
function endOnClosedStdout(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') process.stderr.write(`tidemark: ${oneLine(error.message)}\n`);
    process.exit(error.code === 'EPIPE' ? 0 : 1);
  });
}

// Run when executed directly (`npx tsx packages/cli/src/main.ts …`), not when imported; the
// real paths, because a script is often reached through a symlink (node_modules/.bin).
function isEntryPoint(): boolean {
  const invokedAs = process.argv[1];
  try {
    return invokedAs !== undefined && realpathSync(invokedAs) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false; // `node -e`, a REPL: argv[1] is no file
  }
}
if (isEntryPoint()) await runCliProcess();
