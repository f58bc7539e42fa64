import { destination as pinoDestination, pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';
import pretty from 'pino-pretty';
import { ConfigError } from './config-error.js';

/** How the server's log is written: readable lines for a person, or one JSON object per line. */
export type LogFormat = 'pretty' | 'json';

const FORMATS: readonly LogFormat[] = ['pretty', 'json'];

/**
 * The log format from `--log-format` or FHIRHOSE_LOG_FORMAT; unset, readable lines on a terminal
 * and JSON otherwise (a log collector reads JSON; a person at a terminal reads lines).
 * @throws ConfigError when the value is not `pretty` or `json`
 */
export function logFormat(raw: string | undefined, stdoutIsTty: boolean): LogFormat {
  if (raw === undefined || raw === '') return stdoutIsTty ? 'pretty' : 'json';
  if (!FORMATS.includes(raw as LogFormat)) {
    throw new ConfigError(`--log-format (FHIRHOSE_LOG_FORMAT) must be pretty or json, got '${raw}'`);
  }
  return raw as LogFormat;
}

/** The server's log: its root logger, and the sink its worker threads' JSON lines are written to. */
export interface ServerLog {
  log: Logger;
  /** Writes one JSON log line (of a worker thread) in this log's format. */
  writeLine: (line: string) => void;
}

/**
 * A root logger in `format`, to stdout or to `destination` (tests). Worker threads forward their JSON
 * lines to `writeLine`, so every thread's events come out in one format and never interleave mid-line.
 */
export function createServerLog(
  level: string,
  format: LogFormat,
  destination?: DestinationStream,
): ServerLog {
  const sink: DestinationStream =
    format === 'json'
      ? (destination ?? pinoDestination({ dest: 1, sync: true }))
      : pretty({
          colorize: destination === undefined && process.stdout.isTTY === true,
          // One line per event, the time of day, no pid or host (one process, one host).
          singleLine: true,
          sync: true,
          translateTime: 'SYS:HH:MM:ss.l',
          ignore: 'pid,hostname',
          ...(destination ? { destination } : {}),
        });
  return { log: pino({ level }, sink), writeLine: (line) => sink.write(line) };
}
