import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BARS, figure } from '../../src/bench/figures.js';
import { SHARES, shareFigure, withShares } from '../../src/bench/shares.js';
import type { ShareSpec } from '../../src/bench/shares.js';

const spec: ShareSpec = {
  id: 'share.a.b',
  label: 'a as a share of b',
  of: 'a',
  base: 'b',
  bar: BARS.groupShare,
};

describe('shareFigure', () => {
  it('gives each run as a percentage of the base median, with the bar checked on the median', () => {
    const share = shareFigure(
      spec,
      figure('a', 'a', 'x/s', [40, 60, 50]),
      figure('b', 'b', 'x/s', [90, 100, 200]),
    );
    assert.deepEqual(share.runs, [40, 60, 50]);
    assert.equal(share.unit, '%');
    assert.equal(share.median, 50);
    assert.equal(share.pass, true);
  });

  it('misses a bar below it', () => {
    const share = shareFigure(spec, figure('a', 'a', 'x/s', [49]), figure('b', 'b', 'x/s', [100]));
    assert.equal(share.pass, false);
  });

  it('rejects a base of zero as a programmer error', () => {
    assert.throws(
      () => shareFigure(spec, figure('a', 'a', 'x/s', [1]), figure('b', 'b', 'x/s', [0])),
      TypeError,
    );
  });
});

describe('withShares', () => {
  it('places each share right after the figure it is a share of, in spec order', () => {
    const figures = [
      figure('ceiling.sqlite', 'c', 'resources/s', [200]),
      figure('ceiling.disk', 'd', 'MB/s', [1000]),
      figure('export.system.rate', 's', 'resources/s', [100]),
      figure('export.system.mbps', 'm', 'MB/s', [250]),
      figure('export.group.rate', 'g', 'resources/s', [60]),
    ];
    const out = withShares(figures);
    assert.deepEqual(
      out.map((f) => f.id),
      [
        'ceiling.sqlite',
        'ceiling.disk',
        'export.system.rate',
        'share.system.sqlite',
        'export.system.mbps',
        'share.system.disk',
        'export.group.rate',
        'share.group.sqlite',
        'share.group.system',
      ],
    );
    const byId = new Map(out.map((f) => [f.id, f]));
    assert.equal(byId.get('share.system.sqlite')?.median, 50);
    assert.equal(byId.get('share.system.disk')?.median, 25);
    assert.equal(byId.get('share.group.system')?.median, 60);
    assert.equal(byId.get('share.group.system')?.pass, true);
  });

  it('gives the Group exports as shares of the system export per server CPU second, without a bar', () => {
    const figures = [
      figure('export.system.cpuRate', 's', 'resources/s', [200_000]),
      figure('export.group.cpuRate', 'g', 'resources/s', [50_000, 60_000, 70_000]),
      figure('export.group1.cpuRate', 'g1', 'resources/s', [20_000]),
    ];
    const byId = new Map(withShares(figures).map((f) => [f.id, f]));
    assert.equal(byId.get('share.group.cpu')?.median, 30);
    assert.equal(byId.get('share.group1.cpu')?.median, 10);
    assert.equal(byId.get('share.group.cpu')?.bar, undefined);
  });

  it('gives the client end to end as a share of system export + download, no gzip, with its 85% bar', () => {
    const figures = [
      figure('download.plain.total', 'd', 'resources/s', [200]),
      figure('client.rate', 'c', 'resources/s', [160, 180, 170]),
    ];
    const out = withShares(figures);
    assert.deepEqual(
      out.map((f) => f.id),
      ['download.plain.total', 'client.rate', 'share.client.system'],
    );
    const share = out[2];
    assert.deepEqual(share?.runs, [80, 90, 85]);
    assert.equal(share?.median, 85);
    assert.equal(share?.pass, true);
  });

  it('leaves out shares whose base was not measured', () => {
    const figures = [figure('export.patient.rate', 'p', 'resources/s', [70])];
    assert.deepEqual(
      withShares(figures).map((f) => f.id),
      ['export.patient.rate'],
    );
  });

  it('has a bar on every share of the system export, and unique ids', () => {
    for (const s of SHARES) if (s.base === 'export.system.rate') assert.ok(s.bar, s.id);
    assert.equal(new Set(SHARES.map((s) => s.id)).size, SHARES.length);
  });
});
