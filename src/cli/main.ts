import { Command, CommanderError } from 'commander';
import { ConfigError } from './config-error.js';

type Register = (program: Command) => void;

// Each command's module graph loads only when that command runs, so `fhirhose export` does not pay
// for the server, the store and the generator (startup time and resident memory).
const COMMANDS: Record<string, () => Promise<Register>> = {
  serve: async () => (await import('./commands/serve.js')).registerServe,
  load: async () => (await import('./commands/load.js')).registerLoad,
  generate: async () => (await import('./commands/generate.js')).registerGenerate,
  export: async () => (await import('./commands/export.js')).registerExport,
  sync: async () => (await import('./commands/sync.js')).registerSync,
  clients: async () => (await import('./commands/clients.js')).registerClients,
  keys: async () => (await import('./commands/keys.js')).registerKeys,
  worker: async () => (await import('./commands/worker.js')).registerWorker,
  bench: async () => (await import('./commands/bench.js')).registerBench,
};

/** Build the `fhirhose` command tree: only `commandName`'s command when it is known, else all. */
export async function buildProgram(commandName?: string): Promise<Command> {
  const program = new Command('fhirhose')
    .description('FHIR Bulk Data Access server and client')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError();
  const only = commandName !== undefined ? COMMANDS[commandName] : undefined;
  for (const load of only ? [only] : Object.values(COMMANDS)) (await load())(program);
  return program;
}

// Exit status of a usage error: a bad setting, like a bad flag, is the caller's to fix.
const USAGE_EXIT = 2;

/** Run the CLI with process-style argv; resolves to the exit code (2 for a bad setting). */
export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram(argv[2]);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof ConfigError) {
      console.error(`fhirhose: ${err.message}`);
      return USAGE_EXIT;
    }
    throw err;
  }
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}
