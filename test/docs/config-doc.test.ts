import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadServeConfig } from '../../src/cli/config.js';
import type { ServeConfig } from '../../src/cli/config.js';
import { DEFAULT_PG_URL } from '../../src/bench/scenario-postgres.js';
import { KICKOFF_LIMIT_SETTINGS } from '../../src/export/index.js';

// Runs from dist/test/docs/; the TypeScript sources and docs are three levels up.
const SRC = fileURLToPath(new URL('../../../src', import.meta.url));
const DOC = readFileSync(new URL('../../../docs/config.md', import.meta.url), 'utf8');
const NAME_RE = /FHIRHOSE_[A-Z0-9_]+/g;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** `FHIRHOSE_*` setting names in `text`; `FHIRHOSE_ERR_*` are error codes, documented in docs/errors.md. */
function settingNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const [match] of text.matchAll(NAME_RE)) {
    const name = match.replace(/_+$/, '');
    if (name !== 'FHIRHOSE' && !name.startsWith('FHIRHOSE_ERR_')) names.add(name);
  }
  return names;
}

const inSource = new Set(sources(SRC).flatMap((file) => [...settingNames(readFileSync(file, 'utf8'))]));

describe('docs/config.md', () => {
  test('finds the settings in the sources', () => {
    assert.ok(inSource.has('FHIRHOSE_FILE_MAX_BYTES'), `scanned ${SRC}`);
  });

  test('documents every FHIRHOSE_* variable the sources read', () => {
    const missing = [...inSource].filter((name) => !DOC.includes(`\`${name}\``)).sort();
    assert.deepEqual(missing, [], `variables missing from docs/config.md: ${missing.join(', ')}`);
  });

  test('documents no variable the sources no longer read, test-only ones apart', () => {
    const [served = ''] = DOC.split('## Test-only variables');
    const stale = [...settingNames(served)].filter((name) => !inSource.has(name)).sort();
    assert.deepEqual(stale, [], `variables in docs/config.md that src/ does not use: ${stale.join(', ')}`);
  });
});

/**
 * The default each documented setting has in the code, read from what `loadServeConfig` gives with no
 * variables set (so from DEFAULT_EXPORT_CONFIG, DEFAULT_AUTH_CONFIG, DEFAULT_KICKOFF_LIMITS and the
 * storage defaults), or with only the variables a setting depends on. Values as the doc writes them.
 */
function codeDefaults(): Map<string, string> {
  const plain = loadServeConfig({}, { db: 'fhirhose.db' });
  const s3Env = { FHIRHOSE_STORAGE: 's3://bucket/prefix', FHIRHOSE_DOWNLOAD_MODE: 'presigned' };
  const s3 = loadServeConfig(s3Env, {});
  const s3WithEndpoint = loadServeConfig({ ...s3Env, FHIRHOSE_S3_ENDPOINT: 'http://127.0.0.1:9000' }, {});
  const defaults = new Map<string, unknown>([
    ['FHIRHOSE_DB', loadServeConfig({}, {}).db],
    ['FHIRHOSE_HOST', plain.host],
    ['FHIRHOSE_PORT', plain.port],
    ['FHIRHOSE_LOG_LEVEL', plain.logLevel],
    ['FHIRHOSE_EXPORT_WORKERS', plain.export.workers],
    ['FHIRHOSE_LEASE_SECONDS', plain.export.leaseMs / 1000],
    ['FHIRHOSE_FILE_MAX_BYTES', plain.export.fileMaxBytes],
    ['FHIRHOSE_ROWS_PER_UNIT', plain.export.rowsPerUnit],
    ['FHIRHOSE_FILE_TTL_SECONDS', plain.export.fileTtlMs / 1000],
    ['FHIRHOSE_RETRY_AFTER_SECONDS', plain.export.retryAfterSeconds],
    ['FHIRHOSE_MAX_QUEUED_JOBS', plain.export.maxQueuedJobsPerClient],
    ['FHIRHOSE_UNIT_SLICE_SECONDS', plain.export.unitSliceMs / 1000],
    ['FHIRHOSE_EXPORT_READ_PATH', plain.export.readPath],
    ['FHIRHOSE_DOWNLOAD_MODE', plain.files.downloads],
    ['FHIRHOSE_PRESIGNED_URL_SECONDS', s3.files.presignedUrlSeconds],
    ['AWS_REGION', region(s3)],
    ['FHIRHOSE_S3_PATH_STYLE', pathStyle(s3WithEndpoint)],
    ['FHIRHOSE_TOKEN_LIFETIME_SECONDS', plain.auth.tokenLifetimeSeconds],
    ['FHIRHOSE_AUTH_CLOCK_SKEW_SECONDS', plain.auth.clockSkewSeconds],
    ['FHIRHOSE_BENCH_PG_URL', DEFAULT_PG_URL],
    ...Object.entries(KICKOFF_LIMIT_SETTINGS).map(
      ([key, setting]) => [setting, plain.kickoffLimits[key as keyof ServeConfig['kickoffLimits']]] as const,
    ),
  ]);
  return new Map([...defaults].map(([name, value]) => [name, String(value)]));
}

function region(config: ServeConfig): string | undefined {
  return config.files.storage.kind === 's3' ? config.files.storage.region : undefined;
}

function pathStyle(config: ServeConfig): string | undefined {
  if (config.files.storage.kind !== 's3') return undefined;
  return config.files.storage.forcePathStyle ? 'on' : 'off';
}

/**
 * Each table row of a served setting whose Default cell starts with a literal (`` `300` (5 min) ``):
 * the setting and that literal. Defaults that are computed (`<db>.exports`, `http://<host>:<port>`),
 * `none`, `required` or prose are not literals and are left out.
 */
function documentedDefaults(): { name: string; value: string }[] {
  const [served = ''] = DOC.split('## Test-only variables');
  const rows: { name: string; value: string }[] = [];
  for (const line of served.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const name = /^`((?:FHIRHOSE|AWS)_[A-Z0-9_]+)`/.exec(cells[1] ?? '')?.[1];
    const value = /^`([^`<]+)`/.exec(cells[3] ?? '')?.[1];
    if (name !== undefined && value !== undefined) rows.push({ name, value });
  }
  return rows;
}

describe('docs/config.md defaults', () => {
  const code = codeDefaults();
  const rows = documentedDefaults();

  test('finds the documented defaults', () => {
    assert.ok(
      rows.some((r) => r.name === 'FHIRHOSE_FILE_MAX_BYTES'),
      JSON.stringify(rows),
    );
    assert.ok(rows.length >= 20, `found only ${rows.length} rows`);
  });

  test('documents the default the code has, for every row with a literal default', () => {
    const wrong = rows
      .filter(({ name, value }) => code.get(name) !== value)
      .map(({ name, value }) => `${name}: doc says ${value}, code has ${code.get(name) ?? '(no mapping)'}`);
    assert.deepEqual(wrong, []);
  });

  test('has a row with a literal default for every default the test reads from the code', () => {
    const documented = new Set(rows.map((r) => r.name));
    const missing = [...code.keys()].filter((name) => !documented.has(name));
    assert.deepEqual(missing, []);
  });
});
