import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NotFoundError } from '../../src/fhir/index.js';
import { checkViews } from '../../src/server/view-export-views.js';
import {
  acceptedParameters,
  parseViewExport,
  progressParameters,
  resultParameters,
} from '../../src/server/view-export-wire.js';

const VIEW = {
  resourceType: 'ViewDefinition',
  name: 'pats',
  resource: 'Patient',
  select: [{ column: [{ name: 'id', path: 'id' }] }],
};
const NOW = Date.parse('2026-01-01T00:00:00Z');
const body = (...parameter: unknown[]): unknown => ({ resourceType: 'Parameters', parameter });

describe('parseViewExport', () => {
  test('reads views, format, header, patient, group, _since and clientTrackingId', () => {
    const parsed = parseViewExport(
      body(
        {
          name: 'view',
          part: [
            { name: 'name', valueString: 'a' },
            { name: 'viewResource', resource: VIEW },
          ],
        },
        {
          name: 'view',
          part: [{ name: 'viewReference', valueReference: { reference: 'ViewDefinition/v1' } }],
        },
        { name: 'view', part: [{ name: 'viewReference', valueCanonical: 'http://x.org/vd|2' }] },
        { name: '_format', valueCode: 'text/csv' },
        { name: 'header', valueBoolean: false },
        { name: 'patient', valueReference: { reference: 'Patient/p1' } },
        { name: 'group', valueReference: { reference: 'Group/g1' } },
        { name: '_since', valueInstant: '2025-06-01T00:00:00Z' },
        { name: 'clientTrackingId', valueString: 't-1' },
      ),
      NOW,
    );
    assert.deepEqual(parsed, {
      views: [
        { name: 'a', resource: VIEW },
        { reference: 'ViewDefinition/v1' },
        { reference: 'http://x.org/vd|2' },
      ],
      format: 'csv',
      header: false,
      patients: ['p1'],
      groups: ['g1'],
      since: Date.parse('2025-06-01T00:00:00Z'),
      clientTrackingId: 't-1',
    });
  });

  test('defaults to ndjson with a header, and refuses what it does not know', () => {
    const view = { name: 'view', part: [{ name: 'viewResource', resource: VIEW }] };
    assert.equal(parseViewExport(body(view), NOW).format, 'ndjson');
    assert.throws(() => parseViewExport(body(view, { name: 'source', valueString: 'x' }), NOW), {
      code: 'FHIRHOSE_ERR_NOT_SUPPORTED',
    });
    assert.throws(() => parseViewExport(body(view, { name: '_type', valueString: 'x' }), NOW), {
      code: 'FHIRHOSE_ERR_NOT_SUPPORTED',
    });
    assert.throws(
      () => parseViewExport(body(view, { name: 'patient', valueReference: { reference: 'Group/x' } }), NOW),
      {
        code: 'FHIRHOSE_ERR_INVALID_REQUEST',
      },
    );
    assert.throws(() => parseViewExport(body(view, { name: '_format', valueCode: 'xml' }), NOW), {
      code: 'FHIRHOSE_ERR_NOT_SUPPORTED',
    });
    const both = { name: 'view', part: [...view.part, { name: 'viewReference', valueCanonical: 'u' }] };
    assert.throws(() => parseViewExport(body(both), NOW), { code: 'FHIRHOSE_ERR_INVALID_REQUEST' });
  });
});

describe('view export Parameters', () => {
  test('accepted, progress and result carry the agreed parameters', () => {
    const accepted = acceptedParameters('j1', 'http://s/status/j1', 't');
    assert.deepEqual(
      accepted.parameter.map((p) => p['name']),
      ['exportId', 'status', 'location', 'clientTrackingId', 'cancelUrl'],
    );
    const progress = progressParameters('j1', {
      state: 'in-progress',
      queued: false,
      percent: 50,
      retryAfterSeconds: 1,
      startTime: NOW,
      estimatedSecondsRemaining: 7,
    });
    assert.deepEqual(progress.parameter, [
      { name: 'exportId', valueString: 'j1' },
      { name: 'status', valueCode: 'in-progress' },
      { name: 'exportStartTime', valueInstant: '2026-01-01T00:00:00.000Z' },
      { name: 'estimatedTimeRemaining', valueInteger: 7 },
    ]);
    const result = resultParameters({
      state: 'completed',
      jobId: 'j1',
      format: 'parquet',
      startTime: NOW,
      endTime: NOW + 2600,
      outputs: [{ name: 'a', urls: ['u1', 'u2'] }],
    });
    assert.deepEqual(result.parameter.at(-2), { name: 'exportDuration', valueInteger: 3 });
    assert.deepEqual(result.parameter.at(-1), {
      name: 'output',
      part: [
        { name: 'name', valueString: 'a' },
        { name: 'location', valueUri: 'u1' },
        { name: 'location', valueUri: 'u2' },
      ],
    });
  });
});

describe('checkViews', () => {
  const check = { format: 'ndjson' as const, header: true };

  test('resolves a viewReference through the resolver and names views uniquely', async () => {
    const views = await checkViews(
      [{ reference: 'ViewDefinition/v1' }, { resource: { ...VIEW, name: undefined } }],
      {
        ...check,
        resolve: async (ref) => {
          assert.equal(ref, 'ViewDefinition/v1');
          return VIEW;
        },
      },
    );
    assert.deepEqual(
      views.map((v) => [v.name, v.resource]),
      [
        ['pats', 'Patient'],
        ['view-2', 'Patient'],
      ],
    );
  });

  test('a reference without a resolver is not supported; an unknown one keeps the resolver error', async () => {
    await assert.rejects(checkViews([{ reference: 'ViewDefinition/v1' }], check), {
      code: 'FHIRHOSE_ERR_NOT_SUPPORTED',
    });
    const resolve = async (): Promise<object> => {
      throw new NotFoundError('ViewDefinition/v9 not found');
    };
    await assert.rejects(checkViews([{ reference: 'ViewDefinition/v9' }], { ...check, resolve }), {
      code: 'FHIRHOSE_ERR_NOT_FOUND',
    });
  });

  test('an invalid view is unprocessable, naming the view and the element', async () => {
    const bad = { ...VIEW, select: [{ column: [{ name: 'id', path: 'id.(' }] }] };
    await assert.rejects(
      checkViews([{ resource: VIEW }, { name: 'b', resource: bad }], check),
      (err: unknown) => {
        const e = err as { code: string; message: string; expression: string };
        assert.equal(e.code, 'FHIRHOSE_ERR_UNPROCESSABLE');
        assert.match(e.message, /'b' \(view\[1\]\)/);
        assert.match(e.expression, /^view\[1\]\.select\[0\]\.column\[0\]/);
        return true;
      },
    );
  });
});
