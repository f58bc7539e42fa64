import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';

/** A parameter of a FHIR `Parameters` body, as far as the bench reads one. */
interface Parameter {
  name: string;
  valueString?: string;
  valueUri?: string;
  part?: Parameter[];
}

/** One view's files in a `$viewdefinition-export` result. */
export interface ViewOutput {
  name: string;
  locations: string[];
}

/** A finished `$viewdefinition-export`: kick-off to result, and where its files are. */
export interface ViewExportRun {
  statusUrl: string;
  outputs: ViewOutput[];
  /** Kick-off sent to result received. */
  seconds: number;
}

/** Options of {@link runViewExport}. */
export interface ViewExportOptions {
  /** ViewDefinition resources, one `view` parameter each. */
  views: readonly unknown[];
  format: 'parquet' | 'csv' | 'ndjson' | 'json';
  intervalMs: number;
  timeoutMs: number;
}

/** A server without the operation, told apart so the scenario can say so instead of failing. */
export class ViewExportMissingError extends Error {
  override readonly name = 'ViewExportMissingError';
}

function kickoffBody(options: ViewExportOptions): unknown {
  return {
    resourceType: 'Parameters',
    parameter: [
      ...options.views.map((view) => ({ name: 'view', part: [{ name: 'viewResource', resource: view }] })),
      { name: '_format', valueCode: options.format },
    ],
  };
}

async function kickoff(base: string, options: ViewExportOptions): Promise<string> {
  const res = await request(`${base}/$viewdefinition-export`, {
    method: 'POST',
    headers: {
      accept: 'application/fhir+json',
      prefer: 'respond-async',
      'content-type': 'application/fhir+json',
    },
    body: JSON.stringify(kickoffBody(options)),
  });
  const location = res.headers['content-location'];
  if (res.statusCode === 202 && typeof location === 'string') {
    await res.body.dump();
    return location;
  }
  const text = (await res.body.text()).slice(0, 500);
  if (res.statusCode === 404)
    throw new ViewExportMissingError(`$viewdefinition-export answered 404: ${text}`);
  throw new Error(`$viewdefinition-export kick-off answered ${res.statusCode}: ${text}`);
}

/** Poll until the status URL answers 303 to the result; the result URL. */
async function awaitResultUrl(statusUrl: string, options: ViewExportOptions): Promise<string> {
  const deadline = performance.now() + options.timeoutMs;
  while (performance.now() < deadline) {
    const res = await request(statusUrl, { headers: { accept: 'application/fhir+json' } });
    const location = res.headers.location;
    if (res.statusCode === 303 && typeof location === 'string') {
      await res.body.dump();
      return new URL(location, statusUrl).href;
    }
    if (res.statusCode !== 202 && res.statusCode !== 429) {
      throw new Error(
        `view export status answered ${res.statusCode}: ${(await res.body.text()).slice(0, 500)}`,
      );
    }
    await res.body.dump();
    await sleep(options.intervalMs);
  }
  throw new Error(`view export ${statusUrl} did not finish within ${options.timeoutMs / 1000} s`);
}

function outputsOf(body: { parameter?: Parameter[] }): ViewOutput[] {
  return (body.parameter ?? [])
    .filter((p) => p.name === 'output')
    .map((p) => ({
      name: p.part?.find((x) => x.name === 'name')?.valueString ?? '',
      locations: (p.part ?? []).filter((x) => x.name === 'location').map((x) => x.valueUri ?? ''),
    }));
}

/**
 * `$viewdefinition-export` of inline views, kick-off to result (the wire shapes of
 * docs/views.md): POST Parameters, poll the status URL until 303, then GET the result.
 * @throws ViewExportMissingError when the server has no such operation; Error on any other refusal,
 * a failed export, or one that does not finish in time
 */
export async function runViewExport(base: string, options: ViewExportOptions): Promise<ViewExportRun> {
  const started = performance.now();
  const statusUrl = await kickoff(base, options);
  const resultUrl = await awaitResultUrl(statusUrl, options);
  const res = await request(resultUrl, { headers: { accept: 'application/fhir+json' } });
  if (res.statusCode !== 200) {
    throw new Error(
      `view export result answered ${res.statusCode}: ${(await res.body.text()).slice(0, 500)}`,
    );
  }
  const outputs = outputsOf((await res.body.json()) as { parameter?: Parameter[] });
  return { statusUrl, outputs, seconds: (performance.now() - started) / 1000 };
}

/** DELETE a finished view export, so its files do not fill the disk. */
export async function deleteViewExport(statusUrl: string): Promise<void> {
  const res = await request(statusUrl, { method: 'DELETE' });
  await res.body.dump();
}
