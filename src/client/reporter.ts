import cliProgress from 'cli-progress';
import type { ClientEvent, EventListener, FileResult } from './events.js';
import type { ExportSummary } from './export-runner.js';
import { ProgressTracker } from './progress.js';
import type { ProgressSnapshot } from './progress.js';

/** How the CLI shows progress: a live status on a terminal, plain lines otherwise, or JSON lines. */
export type ReporterMode = 'tty' | 'plain' | 'json';

/** Renders client events for a person or a log collector. */
export interface Reporter {
  listener: EventListener;
  /** Print the final summary. */
  summary(summary: ExportSummary): void;
  /** Stop the live display and its timer (before printing anything else). */
  stop(): void;
}

/** Settings of a reporter; the defaults suit people. */
export interface ReporterOptions {
  /** Plain lines and JSON: a status line this often, besides one at each phase change (default 5000). */
  intervalMs?: number;
  /** Issues of the server's error files printed in the summary; the rest are counted (default 10). */
  issues?: number;
  now?: () => number;
}

const DEFAULT_INTERVAL_MS = 5_000;
const DEFAULT_ISSUES = 10;

const mb = (bytes: number): string => `${(bytes / 1_048_576).toFixed(1)} MB`;
const count = (n: number): string => Math.round(n).toLocaleString('en-US');

/** `0.4 s`, `8.4 s`, `12 s`, `2 min 05 s`, `1 h 02 min`. */
export function duration(ms: number): string {
  if (ms < 9_950) return `${(Math.max(0, ms) / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor(s / 60) % 60).padStart(2, '0')} min`;
}

/** `[mm:ss]` or `[h:mm:ss]` since the start. */
function clock(ms: number): string {
  const s = Math.floor(ms / 1000);
  const mmss = `${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mmss}` : mmss;
}

function eventLine(e: ClientEvent): string | undefined {
  switch (e.kind) {
    case 'kickoff-request':
      return `kick-off: requesting ${e.url}`;
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
      return (
        `${e.file.skipped ? 'kept' : 'done'} ${e.file.path}: ${e.file.lines} resources, ${mb(e.file.bytes)}` +
        (e.file.countMismatch ? `; WARNING ${e.file.countMismatch.message} (file kept)` : '')
      );
    case 'file-failed':
      return `FAILED ${e.file.path}: ${e.file.error?.message ?? 'unknown error'}${e.file.countMismatch ? ' (file kept)' : ''}`;
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

function etaText(s: ProgressSnapshot): string {
  return s.etaMs === undefined ? '' : `, about ${duration(s.etaMs)} left`;
}

function waitsText(s: ProgressSnapshot): string {
  const parts: string[] = [];
  if (s.retries > 0) parts.push(`${s.retries} ${s.retries === 1 ? 'retry' : 'retries'}`);
  if (s.waits > 0)
    parts.push(`waited ${duration(s.waitedMs)} in ${s.waits} ${s.waits === 1 ? 'poll' : 'polls'}`);
  return parts.length ? `; ${parts.join(', ')}` : '';
}

function resourcesText(s: ProgressSnapshot): string {
  const of =
    s.expectedResources !== undefined && s.manifestComplete ? ` of ${count(s.expectedResources)}` : '';
  return `${count(s.resources)}${of} resources`;
}

/** One status line: where the export is, what it has, how fast, how long yet. */
export function statusLine(s: ProgressSnapshot): string {
  const at = `[${clock(s.elapsedMs)}]`;
  switch (s.phase) {
    case 'kick-off':
      return `${at} kick-off`;
    case 'waiting':
      return (
        `${at} waiting for the server: ${s.serverText ?? 'no progress text yet'}${etaText(s)}` +
        `${s.nextPollMs !== undefined ? `, next poll in ${duration(s.nextPollMs)}` : ''}` +
        `${s.files.total > 0 ? `; ${s.files.done}/${s.files.total} files, ${resourcesText(s)}` : ''}${waitsText(s)}`
      );
    case 'downloading':
    case 'done':
      return (
        `${at} ${s.phase === 'done' ? 'downloaded' : 'downloading'}: ${s.files.done}/${s.files.total} files` +
        `${s.files.failed ? ` (${s.files.failed} failed)` : ''}, ${resourcesText(s)}, ${mb(s.bytes)}` +
        `${s.phase === 'downloading' ? `, ${count(s.resourcesPerSecond)} resources/s, ${mb(s.bytesPerSecond)}/s` : ''}` +
        `${etaText(s)}${waitsText(s)}`
      );
  }
}

/** Rates of a whole run: this run's downloads over the time they took. */
function runRates(s: ProgressSnapshot): { resourcesPerSecond: number; bytesPerSecond: number } {
  const seconds = s.downloadMs / 1000;
  if (seconds <= 0) return { resourcesPerSecond: 0, bytesPerSecond: 0 };
  return { resourcesPerSecond: s.downloadedResources / seconds, bytesPerSecond: s.downloadedBytes / seconds };
}

/** The final summary for people: totals, resources by type, time and rate, warnings, the server's errors. */
export function summaryLines(sum: ExportSummary, s: ProgressSnapshot, issues = DEFAULT_ISSUES): string[] {
  const failed = sum.files.filter((f) => f.status === 'failed');
  const head = sum.ok
    ? 'export complete'
    : `export INCOMPLETE: ${failed.length} of ${sum.files.length} files failed`;
  const rates = runRates(s);
  const lines = [
    `${head}: ${sum.files.length} files, ${count(sum.resources)} resources, ${mb(sum.bytes)} in ${duration(s.elapsedMs)}` +
      (s.downloadMs > 0
        ? ` (downloads ${duration(s.downloadMs)}: ${count(rates.resourcesPerSecond)} resources/s, ${mb(rates.bytesPerSecond)}/s)`
        : ''),
  ];
  const byType = Object.entries(sum.byType);
  if (byType.length)
    lines.push(`  resources by type: ${byType.map(([t, n]) => `${t} ${count(n)}`).join(', ')}`);
  const kinds = (k: string): number => sum.files.filter((f) => f.kind === k).length;
  lines.push(
    `  files: ${kinds('output')} output, ${kinds('deleted')} deleted, ${kinds('error')} error; ` +
      `transactionTime ${sum.transactionTime ?? 'unknown'}`,
  );
  for (const f of sum.files.filter((x) => x.countMismatch)) {
    lines.push(
      `  ${f.status === 'failed' ? 'FAILED (--strict)' : 'WARNING'} ${f.path}: ${f.countMismatch?.message} (file kept)`,
    );
  }
  for (const f of failed.filter((x) => !x.countMismatch)) {
    lines.push(`  FAILED ${f.path}: ${f.error?.message ?? 'unknown error'}`);
  }
  const errors = sum.serverErrors;
  if (errors && errors.issues > 0) {
    const files = sum.files.filter((f) => f.kind === 'error').length;
    lines.push(
      `  the server reported ${errors.issues} ${errors.issues === 1 ? 'issue' : 'issues'} in ${files} error ${files === 1 ? 'file' : 'files'}:`,
    );
    for (const i of errors.first.slice(0, issues)) {
      const label = [i.severity, i.code].filter(Boolean).join(' ');
      lines.push(`    ${label ? `${label}: ` : ''}${i.text}`);
    }
    const rest = errors.issues - Math.min(issues, errors.first.length);
    if (rest > 0)
      lines.push(`    ... and ${rest} more (see ${errors.first[0]?.path.split('/')[0] ?? 'error'}/)`);
  }
  return lines;
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
      countMismatch: f.countMismatch,
    };
  }
  return { event: kind, ...rest };
}

/**
 * Calls `tick` every `intervalMs` and at each phase change (checked on every event but the per-chunk
 * ones, which come too often to be worth it); the timer does not keep the process alive.
 */
function ticker(
  tracker: ProgressTracker,
  intervalMs: number,
  tick: (s: ProgressSnapshot) => void,
): { onEvent: (e: ClientEvent) => void; stop: () => void } {
  let phase: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  const start = (): void => {
    timer ??= setInterval(() => tick(tracker.snapshot()), intervalMs);
    timer.unref();
  };
  return {
    onEvent: (e) => {
      start();
      if (e.kind === 'file-bytes') return;
      const now = tracker.currentPhase();
      if (now !== phase && now !== 'done') {
        phase = now;
        tick(tracker.snapshot());
      }
    },
    stop: () => {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}

/** A reporter writing to `stream` (stderr for progress, so stdout stays clean for `--json` consumers). */
export function createReporter(
  mode: ReporterMode,
  stream: NodeJS.WritableStream,
  options: ReporterOptions = {},
): Reporter {
  const tracker = new ProgressTracker(options.now);
  const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
  if (mode === 'json') {
    const write = (obj: Record<string, unknown>): void => {
      stream.write(`${JSON.stringify({ time: new Date().toISOString(), ...obj })}\n`);
    };
    const tick = ticker(tracker, intervalMs, (s) => write({ event: 'status', ...s }));
    return {
      listener: (e) => {
        tracker.listener(e);
        const line = jsonLine(e);
        if (line) write(line);
        tick.onEvent(e);
      },
      summary: (sum) => {
        tick.stop();
        tracker.finish();
        const s = tracker.snapshot();
        write({
          event: 'summary',
          ...sum,
          files: sum.files.length,
          failed: sum.files.filter((f) => f.status === 'failed'),
          countMismatch: sum.files
            .filter((f) => f.countMismatch)
            .map((f) => ({ path: f.path, ...f.countMismatch })),
          elapsedMs: s.elapsedMs,
          downloadMs: s.downloadMs,
          ...runRates(s),
          retries: s.retries,
        });
      },
      stop: () => tick.stop(),
    };
  }
  if (mode === 'plain') {
    let lastProgress = '';
    const tick = ticker(tracker, intervalMs, (s) => stream.write(`${statusLine(s)}\n`));
    return {
      listener: (e) => {
        tracker.listener(e);
        if (e.kind === 'progress' && e.text !== lastProgress) {
          lastProgress = e.text;
          stream.write(`server: ${e.text}\n`);
        }
        const line = eventLine(e);
        if (line) stream.write(`${line}\n`);
        tick.onEvent(e);
      },
      summary: (sum) => {
        tick.stop();
        tracker.finish();
        stream.write(`${summaryLines(sum, tracker.snapshot(), options.issues).join('\n')}\n`);
      },
      stop: () => tick.stop(),
    };
  }
  return ttyReporter(stream, tracker, options);
}

/** The live display: a bar with the phase, and a line of figures; event lines scroll above them. */
function ttyReporter(
  stream: NodeJS.WritableStream,
  tracker: ProgressTracker,
  options: ReporterOptions,
): Reporter {
  const multi = new cliProgress.MultiBar(
    { stream, hideCursor: true, clearOnComplete: false, autopadding: true, gracefulExit: false, barsize: 30 },
    cliProgress.Presets.shades_classic,
  );
  let bar: cliProgress.SingleBar | undefined;
  let figures: cliProgress.SingleBar | undefined;
  let timer: NodeJS.Timeout | undefined;
  let lastRender = 0;
  let trailing: NodeJS.Timeout | undefined;
  const render = (): void => {
    const s = tracker.snapshot();
    let value = s.files.done + s.files.failed;
    let total = Math.max(s.files.total, 1);
    let label: string = s.phase;
    if (s.phase === 'waiting') {
      value = s.serverPercent ?? 0;
      total = 100;
      label =
        `waiting: server ${s.serverText ?? '...'}` +
        `${s.nextPollMs !== undefined ? ` (next poll in ${duration(s.nextPollMs)})` : ''}`;
    } else if (s.expectedResources !== undefined && s.expectedResources > 0 && s.manifestComplete) {
      value = Math.min(s.resources, s.expectedResources);
      total = s.expectedResources;
    }
    // Short enough for 80 columns: cli-progress cuts what does not fit.
    const expected =
      s.expectedResources !== undefined && s.manifestComplete ? `/${count(s.expectedResources)}` : '';
    const stats =
      `${clock(s.elapsedMs)} | ${s.files.done}/${s.files.total} files | ${count(s.resources)}${expected} res | ` +
      `${mb(s.bytes)} | ${count(s.resourcesPerSecond)} res/s | ETA ${s.etaMs === undefined ? '?' : duration(s.etaMs)}` +
      `${s.retries ? ` | ${s.retries} retries` : ''}`;
    if (!bar || !figures) {
      bar = multi.create(total, value, { label }, { format: '{label} |{bar}| {percentage}%' });
      figures = multi.create(1, 0, { stats }, { format: '{stats}' });
      timer = setInterval(render, 1000);
      timer.unref();
    } else {
      bar.setTotal(total);
      bar.update(value, { label });
      figures.update(0, { stats });
    }
  };
  const stop = (): void => {
    if (timer) clearInterval(timer);
    if (trailing) clearTimeout(trailing);
    timer = trailing = undefined;
    if (bar) {
      render();
      multi.stop();
    }
    bar = figures = undefined;
  };
  return {
    listener: (e) => {
      tracker.listener(e);
      // Each file's own line would scroll the status away: only what needs attention is printed.
      const line = e.kind === 'file-done' && !e.file.countMismatch ? undefined : eventLine(e);
      if (!bar && (e.kind === 'deleted-job' || e.kind === 'token')) {
        // Not part of an export's progress (--cancel, a token): a plain line, no live display.
        if (line) stream.write(`${line}\n`);
        return;
      }
      if (line && e.kind !== 'kickoff-request') multi.log(`${line}\n`);
      // A snapshot walks every file: at most ten a second, and a change held back is drawn when the
      // tenth of a second is over, so a short phase (a wait) still shows.
      const now = Date.now();
      if (!bar || (e.kind !== 'file-bytes' && now - lastRender >= 100)) {
        lastRender = now;
        render();
      } else if (e.kind !== 'file-bytes' && !trailing) {
        trailing = setTimeout(
          () => {
            trailing = undefined;
            lastRender = Date.now();
            if (bar) render();
          },
          100 - (now - lastRender),
        );
        trailing.unref();
      }
    },
    summary: (sum) => {
      tracker.finish();
      stop();
      stream.write(`${summaryLines(sum, tracker.snapshot(), options.issues).join('\n')}\n`);
    },
    stop,
  };
}
