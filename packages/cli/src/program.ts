import { Command } from 'commander';
import type { CliIo } from './cliIo.js';
import { addDashboardCommand } from './dashboard/dashboardCommand.js';
import { addConsumersCommands } from './messaging/consumersStatus.js';
import { addOutboxCommands } from './messaging/outboxStatus.js';
import { addFailuresCommands } from './projections/projectionsFailures.js';
import { addRebuildCommand } from './projections/projectionsRebuild.js';
import { addStatusCommand } from './projections/projectionsStatus.js';
import { addMigrateCommand } from './store/migrateStore.js';
import { addEventsCommands } from './streams/eventsTail.js';
import { addStreamsCommand } from './streams/listStreams.js';
import { addStreamCommand } from './streams/streamEvents.js';

/**
 * The `tidemark` command tree. Commander reports its own parse errors by throwing (exitOverride)
 * and writes help through `io`, so the caller decides exit codes and nothing calls process.exit.
 */
export function createProgram(io: CliIo): Command {
  const program = new Command('tidemark')
    .usage('<command> [options]')
    .description('Operate a tidemark event store: SQLite (--sqlite FILE) or PostgreSQL (--postgres URL [--schema S]).')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      // Errors are reported by runCli as one line; commander's own rendering is dropped.
      writeErr: () => {},
      outputError: () => {},
    })
    .showSuggestionAfterError(true)
    .helpCommand(false)
    .addHelpText(
      'after',
      `
Every command:
  migrate [--create-schema]                   create or upgrade the store's tables
  streams [--category C] [--limit N] [--after ID]
                                              the streams with their event counts, a page at a time
  stream <id> [--as-of TIME | --version N]    a stream's events up to a point, and the version reached
  events tail [--type T] [--category C] [--limit N] [--follow]
                                              the latest events; --follow prints new ones until Ctrl-C
  projections status                          checkpoints, lag, failures, parked events
  projections failed [<projection>]           events projections failed on or parked
  projections retry|skip <projection> --position N [--module FILE]
  projections rebuild <projection> --module FILE [--batch-size N]
                                              FILE exports the projection and the store's event stages
  outbox status                               backlog and the age of the oldest unpublished message
  consumers status                            inbox consumers, their last message and checkpoint
  dashboard [--port N] [--host H] [--token T] the web dashboard of the store until Ctrl-C (token: DASHBOARD_TOKEN)

Each takes the store as --sqlite FILE or --postgres URL [--schema S], and --json for scripts.
Exit codes: 0 done, 1 the command failed (one line on stderr), 2 bad arguments (one line on stderr).
'tidemark <command> --help' describes a command.`,
    );
  addMigrateCommand(program, io);
  addStreamsCommand(program, io);
  addStreamCommand(program, io);
  addEventsCommands(program, io);
  const projections = program.command('projections').description('asynchronous projections: status, rebuilds, failed events');
  addStatusCommand(projections, io);
  addFailuresCommands(projections, io);
  addRebuildCommand(projections, io);
  addOutboxCommands(program, io);
  addConsumersCommands(program, io);
  addDashboardCommand(program, io);
  return program;
}
