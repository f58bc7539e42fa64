import { BARS, figure } from './figures.js';
import type { Bar, Figure } from './types.js';

/** A figure read as a percentage of another figure of the same run. */
export interface ShareSpec {
  id: string;
  label: string;
  /** The figure whose runs become percentages. */
  of: string;
  /** The figure they are a share of; its median is 100%. */
  base: string;
  bar?: Bar;
}

/**
 * The shares `fhirhose bench` prints: export figures as shares of the machine's ceilings, which
 * compare across machines, and the issue-14 bars as shares of the system export.
 */
export const SHARES: readonly ShareSpec[] = Object.freeze([
  {
    id: 'share.system.sqlite',
    label: 'system export as a share of the raw SQLite ceiling',
    of: 'export.system.rate',
    base: 'ceiling.sqlite',
  },
  {
    id: 'share.system.disk',
    label: 'system export MB/s as a share of the disk ceiling',
    of: 'export.system.mbps',
    base: 'ceiling.disk',
  },
  {
    id: 'share.patient.sqlite',
    label: 'Patient export as a share of the raw SQLite ceiling',
    of: 'export.patient.rate',
    base: 'ceiling.sqlite',
  },
  {
    id: 'share.patient.system',
    label: 'Patient export as a share of the system export',
    of: 'export.patient.rate',
    base: 'export.system.rate',
    bar: BARS.patientShare,
  },
  {
    id: 'share.patient.cpu',
    label: 'Patient export as a share of the system export, per server CPU second',
    of: 'export.patient.cpuRate',
    base: 'export.system.cpuRate',
  },
  {
    id: 'share.group.sqlite',
    label: 'Group export as a share of the raw SQLite ceiling',
    of: 'export.group.rate',
    base: 'ceiling.sqlite',
  },
  {
    id: 'share.group.system',
    label: 'Group export as a share of the system export',
    of: 'export.group.rate',
    base: 'export.system.rate',
    bar: BARS.groupShare,
  },
  {
    id: 'share.group1.system',
    label: 'Group export of 1% as a share of the system export',
    of: 'export.group1.rate',
    base: 'export.system.rate',
    bar: BARS.group1Share,
  },
  {
    id: 'share.group.cpu',
    label: 'Group export as a share of the system export, per server CPU second',
    of: 'export.group.cpuRate',
    base: 'export.system.cpuRate',
  },
  {
    id: 'share.group1.cpu',
    label: 'Group export of 1% as a share of the system export, per server CPU second',
    of: 'export.group1.cpuRate',
    base: 'export.system.cpuRate',
  },
  {
    id: 'share.typeFilter.sqlite',
    label: '_typeFilter rows examined as a share of the raw SQLite ceiling',
    of: 'export.typeFilter.scanRate',
    base: 'ceiling.sqlite',
  },
  {
    id: 'share.typeFilter.system',
    label: '_typeFilter rows examined as a share of the system export',
    of: 'export.typeFilter.scanRate',
    base: 'export.system.rate',
    bar: BARS.typeFilterShare,
  },
  {
    id: 'share.elements.sqlite',
    label: '_elements export as a share of the raw SQLite ceiling',
    of: 'export.elements.rate',
    base: 'ceiling.sqlite',
  },
  {
    id: 'share.elements.system',
    label: '_elements export as a share of the system export',
    of: 'export.elements.rate',
    base: 'export.system.rate',
    bar: BARS.elementsShare,
  },
  {
    id: 'share.postgresLoad.sqlite',
    label: 'PostgreSQL loading as a share of SQLite loading',
    of: 'load.postgres.rate',
    base: 'load.sqlite.rate',
    bar: BARS.postgresLoadShare,
  },
  {
    id: 'share.client.system',
    label: 'client end to end as a share of system export + download, no gzip',
    of: 'client.rate',
    base: 'download.plain.total',
    bar: BARS.clientShare,
  },
]);

/**
 * One share figure: each run of `of` as a percentage of the median of `base`.
 * @throws TypeError when `base` has a median of 0 or less
 */
export function shareFigure(spec: ShareSpec, of: Figure, base: Figure): Figure {
  if (!(base.median > 0))
    throw new TypeError(`${base.id} has median ${base.median}; cannot take a share of it`);
  const runs = of.runs.map((v) => (v / base.median) * 100);
  return figure(spec.id, spec.label, '%', runs, spec.bar ? { bar: spec.bar } : {});
}

/**
 * The figures with every share whose two figures exist, each placed right after the figure it is
 * a share of (so `ceiling.*` shares sit beside the export figures they qualify).
 */
export function withShares(figures: readonly Figure[], specs: readonly ShareSpec[] = SHARES): Figure[] {
  const byId = new Map(figures.map((f) => [f.id, f]));
  const out: Figure[] = [];
  for (const f of figures) {
    out.push(f);
    for (const spec of specs) {
      const base = byId.get(spec.base);
      if (spec.of === f.id && base && base.median > 0) out.push(shareFigure(spec, f, base));
    }
  }
  return out;
}
