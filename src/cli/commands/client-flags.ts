import type { Command } from 'commander';
import { createReporter, privateJwkFrom } from '../../client/index.js';
import type { BulkClientOptions, Reporter, ReporterMode } from '../../client/index.js';
import { clientCredentials, DEFAULT_CLIENT_SCOPE, readKeyFile } from '../client-credentials.js';
import { ConfigError } from '../config-error.js';

/** Options shared by `export` and `sync`: auth, waits, parallelism, output style. */
export interface ClientFlags {
  clientId?: string;
  key?: string;
  tokenUrl?: string;
  scope?: string;
  /** `--config FILE`: credentials in a JSON file. */
  config?: string;
  parallel: number;
  maxWait: number;
  pollInterval: number;
  retries: number;
  /** Seconds between status lines when not on a terminal. */
  progressEvery: number;
  json?: boolean;
  /** False with `--no-early-poll`. */
  earlyPoll?: boolean;
}

export const positiveInt = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got '${v}'`);
  return n;
};
export const seconds = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a number of seconds, got '${v}'`);
  return n;
};
export const positiveSeconds = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new Error(`${name} must be a number of seconds above 0, got '${v}'`);
  return n;
};
/** Add the options of ClientFlags to a command. */
export function addClientOptions(cmd: Command): Command {
  return cmd
    .option('--client-id <id>', 'SMART Backend Services client_id (env FHIRHOSE_CLIENT_ID)')
    .option('--key <file>', 'private key as a JWK or JWK Set file, RS384 or ES384 (env FHIRHOSE_CLIENT_KEY)')
    .option(
      '--token-url <url>',
      'token endpoint (env FHIRHOSE_TOKEN_URL; default: from .well-known/smart-configuration)',
    )
    .option('--scope <scope>', `scope to request (env FHIRHOSE_SCOPE; default: ${DEFAULT_CLIENT_SCOPE})`)
    .option('--config <file>', 'JSON file with clientId, key (a path relative to the file), tokenUrl, scope')
    .option('--parallel <n>', 'downloads at once', positiveInt('--parallel'), 4)
    .option(
      '--max-wait <seconds>',
      "cap on one wait, even a server's Retry-After",
      seconds('--max-wait'),
      300,
    )
    .option(
      '--poll-interval <seconds>',
      'first poll backoff without Retry-After (doubles)',
      seconds('--poll-interval'),
      1,
    )
    .option('--retries <n>', 'retries of a failed request', positiveInt('--retries'), 6)
    .option('--no-early-poll', 'always wait the full Retry-After, even when the job is about to end')
    .option(
      '--progress-every <seconds>',
      'a status line this often when not on a terminal (and a JSON status event with --json)',
      positiveSeconds('--progress-every'),
      5,
    )
    .option('--json', 'JSON log lines on stdout');
}

/** Client settings from the flags; the key file is read here, once. */
export function clientOptions(
  flags: ClientFlags,
  listener: BulkClientOptions['onEvent'],
  env: Record<string, string | undefined> = process.env,
): BulkClientOptions {
  const credentials = clientCredentials(flags, env);
  const options: BulkClientOptions = {
    waits: {
      maxWaitMs: flags.maxWait * 1000,
      pollBaseMs: flags.pollInterval * 1000,
      retryBaseMs: flags.pollInterval * 1000,
      retries: flags.retries,
      ...(flags.earlyPoll === false ? { earlyPoll: false } : {}),
    },
    ...(listener ? { onEvent: listener } : {}),
  };
  if (credentials.clientId !== undefined && credentials.keyPath !== undefined) {
    options.smart = {
      clientId: credentials.clientId,
      privateJwk: privateJwkFrom(readKeyFile(credentials.keyPath)),
      ...(credentials.tokenUrl ? { tokenUrl: credentials.tokenUrl } : {}),
      scope: credentials.scope,
    };
  }
  return options;
}

/** The reporter for the flags: JSON lines, a live status on a terminal, plain lines otherwise. */
export function reporterFor(flags: { json?: boolean; progressEvery?: number }): Reporter {
  const mode: ReporterMode = flags.json ? 'json' : process.stderr.isTTY ? 'tty' : 'plain';
  return createReporter(mode, flags.json ? process.stdout : process.stderr, {
    intervalMs: (flags.progressEvery ?? 5) * 1000,
  });
}

/** Abort on Ctrl-C, leaving the state file for `--resume`. */
export function interruptSignal(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = (): void => controller.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** Print an error for a person (or a JSON line) and set the exit code: 2 for a usage error, else 1. */
export function reportFailure(err: unknown, flags: { json?: boolean }, hint?: string): void {
  const e = err as { code?: string; message?: string; status?: number };
  if (flags.json) {
    console.log(
      JSON.stringify({
        time: new Date().toISOString(),
        event: 'error',
        code: e.code,
        status: e.status,
        message: e.message,
      }),
    );
  } else {
    console.error(`error: ${e.message ?? String(err)}`);
    if (hint) console.error(hint);
  }
  process.exitCode = err instanceof ConfigError ? 2 : 1;
}
