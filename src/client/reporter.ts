import cliProgress from 'cli-progress';
import type { ClientEvent, EventListener, FileResult } from './events.js';
import type { ExportSummary } from './export-runner.js';

/** How the CLI shows progress: a bar on a terminal, plain lines otherwise, or JSON lines. */
export type ReporterMode = 'tty' | 'plain' | 'json';

/** Renders client events for a person or a log collector. */
export interface Reporter {
  listener: EventListener;
  /** Print the final summary. */
  summary(summary: ExportSummary): void;
  /** Stop the bar (before printing anything else). */
  stop(): void;
}

const mb = (bytes: number): string => `${(bytes / 1_048_576).toFixed(1)} MB`;

function eventLine(e: ClientEvent): string | undefined {
  switch (e.kind) {
    case 'kickoff':
      return `export accepted; status at ${e.statusUrl}`;
    case 'resume':
      return `resuming ${e.statusUrl}: ${e.files} files known${e.manifestComplete ? ', manifest complete' : ''}`;
    case 'manifest':
      return `manifest ${e.final ? 'page' : 'partial page'}: ${e.files} files (${e.newFiles} new)`;
    case 'retry':
      return `retry ${e.attempt} of ${e.url} in ${(e.ms / 1000).toFixed(1)} s (${e.status ?? e.error ?? 'error'})`;
    case 'wait':
      return e.ms >= 5_000 ? `waiting ${Math.round(e.ms / 1000)} s for the server (${e.reason})` : undefined;
    case 'token':
      return `access token from ${e.tokenUrl}, valid ${e.expiresIn} s`;
    case 'file-done':
      return `${e.file.skipped ? 'kept' : 'done'} ${e.file.path}: ${e.file.lines} resources, ${mb(e.file.bytes)}`;
    case 'file-failed':
      return `FAILED ${e.file.path}: ${e.file.error?.message ?? 'unknown error'}`;
    case 'manifest-refresh':
      return (
        `manifest fetched again (${e.reason === 'expires' ? 'its Expires passed' : `a file URL answered ${e.status}`}): ` +
        `${e.files} files with fresh URLs, refresh ${e.refresh} of at most ${e.max}`
      );
    case 'deleted-job':
      return `deleted the job at ${e.statusUrl}`;
    default:
      return undefined;
  }
}

function jsonLine(e: ClientEvent): Record<string, unknown> | undefined {
  if (e.kind === 'file-bytes' || e.kind === 'file-start') return undefined;
  const { kind, ...rest } = e;
  if ('file' in rest) {
    const f = rest.file as FileResult;
    return {
      event: kind,
      path: f.path,
      url: f.url,
      kind: f.kind,
      type: f.type,
      lines: f.lines,
      bytes: f.bytes,
      skipped: f.skipped,
      error: f.error,
    };
  }
  return { event: kind, ...rest };
}

function summaryText(s: ExportSummary): string {
  const failed = s.files.filter((f) => f.status === 'failed');
  const types = Object.entries(s.byType)
    .map(([t, n]) => `${t} ${n}`)
    .join(', ');
  const head = s.ok
    ? 'export complete'
    : `export INCOMPLETE: ${failed.length} of ${s.files.length} files failed`;
  return (
    `${head}: ${s.files.length} files, ${s.resources} resources, ${mb(s.bytes)}` +
    `${types ? ` (${types})` : ''}; transactionTime ${s.transactionTime ?? 'unknown'}`
  );
}

/** A reporter writing to `stream` (stderr for progress, so stdout stays clean for `--json` consumers). */
export function createReporter(mode: ReporterMode, stream: NodeJS.WritableStream): Reporter {
  if (mode === 'json') {
    const write = (obj: Record<string, unknown>): void => {
      stream.write(`${JSON.stringify({ time: new Date().toISOString(), ...obj })}\n`);
    };
    return {
      listener: (e) => {
        const line = jsonLine(e);
        if (line) write(line);
      },
      summary: (s) =>
        write({
          event: 'summary',
          ...s,
          files: s.files.length,
          failed: s.files.filter((f) => f.status === 'failed'),
        }),
      stop: () => undefined,
    };
  }
  if (mode === 'plain') {
    let lastProgress = '';
    return {
      listener: (e) => {
        if (e.kind === 'progress' && e.text !== lastProgress) {
          lastProgress = e.text;
          stream.write(`server: ${e.text}\n`);
        }
        const line = eventLine(e);
        if (line) stream.write(`${line}\n`);
      },
      summary: (s) => stream.write(`${summaryText(s)}\n`),
      stop: () => undefined,
    };
  }
  return ttyReporter(stream);
}

function ttyReporter(stream: NodeJS.WritableStream): Reporter {
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: '{phase} |{bar}| {value}/{total} files | {resources} resources | {size}',
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let total = 0;
  let done = 0;
  let resources = 0;
  let bytes = 0;
  let phase = 'starting';
  let started = false;
  const render = (): void => {
    const payload = { phase, resources, size: mb(bytes) };
    if (!started) {
      bar.start(Math.max(total, 1), done, payload);
      started = true;
    } else {
      bar.setTotal(Math.max(total, 1));
      bar.update(done, payload);
    }
  };
  return {
    listener: (e) => {
      if (e.kind === 'progress') phase = `server ${e.text}`;
      else if (e.kind === 'manifest') {
        total += e.newFiles;
        phase = 'downloading';
      } else if (e.kind === 'resume') total = e.files;
      else if (e.kind === 'file-bytes') bytes += e.bytes;
      else if (e.kind === 'file-done' || e.kind === 'file-failed') {
        done++;
        if (e.file.kind === 'output') resources += e.file.lines;
        if (e.file.skipped) bytes += e.file.bytes;
        if (e.kind === 'file-failed') {
          bar.stop();
          started = false;
          stream.write(`${eventLine(e)}\n`);
        }
      } else if (e.kind === 'retry') phase = `retrying (${e.status ?? 'network'})`;
      else if (e.kind === 'manifest-refresh') phase = 'fresh file URLs';
      else return;
      render();
    },
    summary: (s) => {
      bar.stop();
      stream.write(`${summaryText(s)}\n`);
    },
    stop: () => bar.stop(),
  };
}
