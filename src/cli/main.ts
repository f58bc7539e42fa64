import { Command, CommanderError } from 'commander';
import { ConfigError } from './config-error.js';

type Register = (program: Command) => void;

/** The exit codes, as docs/cli.md lists them. */
export const EXIT_CODES_HELP = `
Exit codes:
  0    done
  1    the work failed or was incomplete (export failed, a count mismatch with --strict,
       resources rejected by load, bad database)
  2    usage error: a bad flag, setting, URL or path, or a port in use; fix it and run again
  130  interrupted (export: continue with --resume DIR)

Docs: docs/cli.md (commands and exit codes), docs/config.md (every setting)`;

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
  views: async () => (await import('./commands/views.js')).registerViews,
};

/** Two or three examples per command, shown after its options by `--help`. */
const EXAMPLES: Record<string, string> = {
  serve: `
Examples:
  fhirhose serve --demo                              # demo data on 127.0.0.1:8080, no auth
  fhirhose serve --db data.db --port 9000            # your data, SMART Backend Services auth on
  fhirhose serve --db postgres://db/fhir --export-dir /srv/exports --no-workers`,
  load: `
Examples:
  fhirhose load ./synthea/fhir --db data.db          # every .ndjson(.gz) and .json in the folder
  fhirhose load Patient.ndjson.gz Observation.ndjson.gz --db postgres://db/fhir`,
  generate: `
Examples:
  fhirhose generate --out ./data --patients 100      # about 5,800 resources, one file per type
  fhirhose generate --out ./data --resources 1M --gzip --seed 7`,
  export: `
Examples:
  fhirhose export http://127.0.0.1:8080 --out ./export                       # open demo server
  FHIRHOSE_CLIENT_ID=my-app FHIRHOSE_CLIENT_KEY=key.jwk \
    fhirhose export https://fhir.example/r4 --group cohort-1 --since 2026-01-01T00:00:00Z --out ./cohort
  fhirhose export --resume ./cohort                                          # after a crash or Ctrl-C`,
  sync: `
Examples:
  fhirhose sync http://127.0.0.1:8080 --db mirror.db        # first run: everything; later: changes
  fhirhose sync https://fhir.example/r4 --db mirror.db --type Patient,Observation`,
  clients: `
Examples:
  fhirhose clients add --name analytics --jwks-url https://app.example/jwks.json --scope 'system/*.rs'
  fhirhose clients list --db data.db`,
  keys: `
Examples:
  fhirhose keys generate --out ./my-app              # ./my-app/private.jwk.json and jwks.json
  fhirhose keys rotate-server --db data.db`,
  worker: `
Examples:
  fhirhose worker --db postgres://db/fhir --export-dir /srv/exports --threads 2`,
  views: `
Examples:
  fhirhose views run patients.view.json --db data.db --format parquet --out patients.parquet
  fhirhose views run bp.view.json --db postgres://db/fhir --format csv --limit 100 > bp.csv`,
  bench: `
Examples:
  npm run bench                                      # 1M resources, 3 runs (about 12 minutes)
  fhirhose bench --only system,group --resources 100k --runs 1 --dir /tmp/bench`,
};

/** Build the `fhirhose` command tree: only `commandName`'s command when it is known, else all. */
export async function buildProgram(commandName?: string): Promise<Command> {
  const program = new Command('fhirhose')
    .description('FHIR Bulk Data Access server and client')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError()
    .addHelpText('after', EXIT_CODES_HELP);
  const only = commandName !== undefined ? COMMANDS[commandName] : undefined;
  for (const load of only ? [only] : Object.values(COMMANDS)) (await load())(program);
  for (const command of program.commands) {
    command.addHelpText('after', `${EXAMPLES[command.name()] ?? ''}\n${EXIT_CODES_HELP}`);
  }
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
