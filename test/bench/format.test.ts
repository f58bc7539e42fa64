import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { figure } from '../../src/bench/figures.js';
import { figureTable, formatTable, formatValue } from '../../src/bench/format.js';

describe('formatValue', () => {
  it('groups thousands from 100 up, keeps one decimal from 10 and two below', () => {
    assert.equal(formatValue(152_340.6), '152,341');
    assert.equal(formatValue(123.4), '123');
    assert.equal(formatValue(42.345), '42.3');
    assert.equal(formatValue(3.14159), '3.14');
  });
});

describe('formatTable', () => {
  it('left-aligns the first column, right-aligns the rest and rules off the header', () => {
    const text = formatTable(
      ['figure', 'value'],
      [
        ['a', '1'],
        ['longer', '1,000'],
      ],
    );
    assert.equal(text, ['figure  value', '------  -----', 'a           1', 'longer  1,000'].join('\n'));
  });

  it('rejects a row with the wrong number of cells', () => {
    assert.throws(() => formatTable(['a', 'b'], [['only one']]), TypeError);
  });
});

describe('figure', () => {
  it('checks a >= bar against the median', () => {
    const f = figure('x', 'x', 'resources/s', [100, 200, 300], { bar: { op: '>=', value: 150 } });
    assert.equal(f.median, 200);
    assert.equal(f.pass, true);
  });

  it('checks a <= bar against the worst run', () => {
    const f = figure('x', 'x', 'MiB', [100, 120, 260], { bar: { op: '<=', value: 250 } });
    assert.equal(f.median, 120);
    assert.equal(f.pass, false);
  });

  it('shows median, min, max, runs and the verdict of the bar in the table', () => {
    const f = figure('x', 'export', 'MiB', [200, 100, 300], { bar: { op: '<=', value: 250 } });
    const lines = figureTable([f]).split('\n');
    assert.match(lines[2]!, /^export\s+200\s+100\s+300\s+MiB\s+3\s+<= 250 MISSED$/);
  });
});
