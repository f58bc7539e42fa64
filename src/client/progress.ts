import type { ClientEvent } from './events.js';

/** Where an export is: sending the kick-off, waiting for the server, downloading, or finished. */
export type ExportPhase = 'kick-off' | 'waiting' | 'downloading' | 'done';

/** What a person wants to know about a running export, derived from client events only. */
export interface ProgressSnapshot {
  phase: ExportPhase;
  /** The server's last `X-Progress` text, and the percentage in it when it has one. */
  serverText?: string;
  serverPercent?: number;
  /** Files listed so far; done and failed ones; files being downloaded now. */
  files: { total: number; done: number; failed: number; active: number };
  /** Resources in output files and bytes on disk, finished and partial files together. */
  resources: number;
  bytes: number;
  /** Resources the manifest promises: known when every output file listed has a `count`. */
  expectedResources?: number;
  /** Every file of the export is listed (the last manifest page was read). */
  manifestComplete: boolean;
  elapsedMs: number;
  /** Resources and bytes fetched by this run (not those a resumed run found on disk). */
  downloadedResources: number;
  downloadedBytes: number;
  /** From the first download's start to the last file settled (or now). */
  downloadMs: number;
  /** Download rates over the last few seconds (0 before any download). */
  resourcesPerSecond: number;
  bytesPerSecond: number;
  /**
   * Time left: while waiting, until the server is done (from its percentage); while downloading, until
   * the last file is in (from the counts, else from the share of files done). Absent when unknown.
   */
  etaMs?: number;
  retries: number;
  /** Waits for the server (Retry-After or backoff) and their total. */
  waits: number;
  waitedMs: number;
  /** While waiting: time until the next poll, as the last wait (Retry-After or backoff) set it. */
  nextPollMs?: number;
}

interface FileProgress {
  output: boolean;
  bytes: number;
  lines: number;
  /** Bytes and lines that were on disk before this run (resumed), not downloaded now. */
  baseBytes: number;
  baseLines: number;
  settled: boolean;
}

interface Sample {
  at: number;
  resources: number;
  bytes: number;
}

/** Rates are measured over this much recent time, so they follow changes but do not jump. */
const RATE_WINDOW_MS = 10_000;
const PERCENT = /(\d+(?:\.\d+)?)\s*%/;

/**
 * Follows client events and answers "where is it, how fast, how long yet". Pure bookkeeping: it reads
 * only events and the clock it is given, so progress can be rendered any way (bar, lines, JSON).
 */
export class ProgressTracker {
  private readonly now: () => number;
  private readonly startedAt: number;
  private phase: ExportPhase = 'kick-off';
  private waitingSince: number | undefined;
  private serverText: string | undefined;
  private serverPercent: number | undefined;
  private readonly files = new Map<string, FileProgress>();
  private listed = 0;
  private done = 0;
  private failed = 0;
  private expected = 0;
  private uncounted = 0;
  private manifestComplete = false;
  private retries = 0;
  private waits = 0;
  private waitedMs = 0;
  private nextPollAt: number | undefined;
  private samples: Sample[] = [];
  private downloadStartedAt: number | undefined;
  private lastSettledAt: number | undefined;
  private finished = false;

  constructor(now: () => number = Date.now) {
    this.now = now;
    this.startedAt = now();
  }

  /** Feed one event (the tracker is an EventListener). */
  readonly listener = (e: ClientEvent): void => {
    switch (e.kind) {
      case 'kickoff-request':
        this.phase = 'kick-off';
        break;
      case 'kickoff':
        this.waitingSince = this.now();
        break;
      case 'resume':
        this.waitingSince = this.now();
        this.listed += e.files;
        this.expected += e.resources ?? 0;
        this.uncounted += e.uncounted ?? (e.files > 0 && e.resources === undefined ? 1 : 0);
        this.manifestComplete = e.manifestComplete;
        break;
      case 'progress': {
        this.serverText = e.text;
        const m = PERCENT.exec(e.text);
        if (m) this.serverPercent = Math.min(100, Number(m[1]));
        break;
      }
      case 'wait':
        this.waits++;
        this.waitedMs += e.ms;
        this.nextPollAt = this.now() + e.ms;
        break;
      case 'retry':
        this.retries++;
        break;
      case 'manifest':
        this.listed += e.newFiles;
        this.expected += e.newResources ?? 0;
        this.uncounted += e.newUncounted ?? (e.newFiles > 0 && e.newResources === undefined ? 1 : 0);
        if (e.complete) this.manifestComplete = true;
        break;
      case 'file-start': {
        this.downloadStartedAt ??= this.now();
        const f = this.file(e.file.path, e.file.kind === 'output');
        f.bytes = f.baseBytes = e.resumeFrom;
        f.lines = f.baseLines = e.resumeLines ?? 0;
        this.sample();
        break;
      }
      case 'file-bytes': {
        const f = this.file(e.file.path, e.file.kind === 'output');
        if (e.fileBytes !== undefined) f.bytes = e.fileBytes;
        else f.bytes += e.bytes;
        if (e.lines !== undefined) f.lines = e.lines;
        this.sample();
        break;
      }
      case 'file-done':
      case 'file-failed': {
        const f = this.file(e.file.path, e.file.kind === 'output');
        if (e.file.skipped) {
          f.baseBytes = e.file.bytes;
          f.baseLines = e.file.lines;
        }
        f.bytes = e.file.bytes;
        f.lines = e.file.lines;
        f.settled = true;
        if (!e.file.skipped) this.lastSettledAt = this.now();
        if (e.kind === 'file-done') this.done++;
        else this.failed++;
        this.sample();
        break;
      }
      default:
        break;
    }
  };

  /** The export is over: the phase is `done` and the clock stops for rates. */
  finish(): void {
    this.finished = true;
    this.phase = 'done';
  }

  /** The phase alone, without walking the files: cheap enough to ask after every event. */
  currentPhase(): ExportPhase {
    if (!this.finished && this.waitingSince !== undefined) {
      const pending = this.listed - this.done - this.failed;
      this.phase = pending > 0 ? 'downloading' : this.manifestComplete ? 'done' : 'waiting';
    }
    return this.phase;
  }

  /** Where things stand now. */
  snapshot(): ProgressSnapshot {
    const now = this.now();
    this.sample(now);
    let resources = 0;
    let bytes = 0;
    let active = 0;
    for (const f of this.files.values()) {
      if (f.output) resources += f.lines;
      bytes += f.bytes;
      if (!f.settled) active++;
    }
    this.currentPhase();
    const { resourcesPerSecond, bytesPerSecond } = this.rates(now);
    const downloaded = this.downloaded();
    const downloadEnd = active > 0 || this.lastSettledAt === undefined ? now : this.lastSettledAt;
    const snap: ProgressSnapshot = {
      phase: this.phase,
      files: { total: this.listed, done: this.done, failed: this.failed, active },
      resources,
      bytes,
      manifestComplete: this.manifestComplete,
      elapsedMs: now - this.startedAt,
      downloadedResources: downloaded.resources,
      downloadedBytes: downloaded.bytes,
      downloadMs: this.downloadStartedAt === undefined ? 0 : downloadEnd - this.downloadStartedAt,
      resourcesPerSecond,
      bytesPerSecond,
      retries: this.retries,
      waits: this.waits,
      waitedMs: this.waitedMs,
    };
    if (this.serverText !== undefined) snap.serverText = this.serverText;
    if (this.serverPercent !== undefined) snap.serverPercent = this.serverPercent;
    if (this.listed > 0 && this.uncounted === 0) snap.expectedResources = this.expected;
    if (snap.phase === 'waiting' && this.nextPollAt !== undefined && this.nextPollAt > now) {
      snap.nextPollMs = this.nextPollAt - now;
    }
    const eta = this.eta(snap, now);
    if (eta !== undefined) snap.etaMs = eta;
    return snap;
  }

  private file(path: string, output: boolean): FileProgress {
    let f = this.files.get(path);
    if (!f) {
      f = { output, bytes: 0, lines: 0, baseBytes: 0, baseLines: 0, settled: false };
      this.files.set(path, f);
    }
    return f;
  }

  /** Downloaded this run: on disk minus what was there before. */
  private downloaded(): { resources: number; bytes: number } {
    let resources = 0;
    let bytes = 0;
    for (const f of this.files.values()) {
      if (f.output) resources += Math.max(0, f.lines - f.baseLines);
      bytes += Math.max(0, f.bytes - f.baseBytes);
    }
    return { resources, bytes };
  }

  private sample(at = this.now()): void {
    // Rates are of downloading: the time spent waiting for the server before it would dilute them.
    if (this.downloadStartedAt === undefined) return;
    const last = this.samples.at(-1);
    if (last && at - last.at < 200) return;
    this.samples.push({ at, ...this.downloaded() });
    while (this.samples.length > 2 && at - this.samples[1]!.at > RATE_WINDOW_MS) this.samples.shift();
  }

  private rates(now: number): { resourcesPerSecond: number; bytesPerSecond: number } {
    const first = this.samples[0];
    if (!first || now - first.at <= 0) return { resourcesPerSecond: 0, bytesPerSecond: 0 };
    const seconds = (now - first.at) / 1000;
    const current = this.downloaded();
    return {
      resourcesPerSecond: (current.resources - first.resources) / seconds,
      bytesPerSecond: (current.bytes - first.bytes) / seconds,
    };
  }

  private eta(s: ProgressSnapshot, now: number): number | undefined {
    if (s.phase === 'waiting') {
      const p = s.serverPercent;
      if (p === undefined || p <= 0 || this.waitingSince === undefined) return undefined;
      return ((now - this.waitingSince) * (100 - p)) / p;
    }
    if (s.phase !== 'downloading' || !s.manifestComplete) return undefined;
    if (s.expectedResources !== undefined && s.resourcesPerSecond > 0) {
      return (Math.max(0, s.expectedResources - s.resources) / s.resourcesPerSecond) * 1000;
    }
    return undefined;
  }
}
