// Turns the raw per-repetition numbers into the printed tables (median, min-max, ratio
// Berth/reference for each reference given, goal, verdicts) and the JSON document kept under
// bench/results/.
import type { ReferenceRegistry, TargetName } from './servers.js';
import { summarize, type Summary } from './stats.js';
import type { LimitShare, MetricSpec } from './workload.js';

/** Berth, a reference (`reference`, `reference2`, ...), or the machine limit of a row. */
export type Subject = TargetName | 'limit';

export interface CpuShare {
  /** CPU seconds per wall second in each measured window (1 = one core busy). */
  readonly server: number[];
  readonly client: number[];
}

export interface WorkloadResult {
  readonly id: string;
  readonly title: string;
  readonly metrics: readonly MetricSpec[];
  readonly limitMetrics: readonly MetricSpec[];
  /** Which registry figure the limits table gives as a share of the limit's. */
  readonly limitShare?: LimitShare;
  /** values[subject][metric key] = one number per repetition. */
  readonly values: Partial<Record<Subject, Record<string, number[]>>>;
  readonly cpu: Partial<Record<Subject, CpuShare>>;
  /** Highest RSS of each server's process tree during this workload (setup included). */
  readonly peakRssBytes: Partial<Record<TargetName, number>>;
  error?: string;
}

export interface ProbeResult {
  readonly id: string;
  readonly metrics: readonly MetricSpec[];
  readonly values: Record<string, number[]>;
  error?: string;
}

export interface MemoryResult {
  /** RSS of each server's process tree just after start-up, before any workload. */
  readonly startTreeBytes: Partial<Record<TargetName, number>>;
  /** Highest sampled RSS of each server's process tree over the whole run. */
  readonly peakTreeBytes: Partial<Record<TargetName, number>>;
  /** VmHWM of each server's main process at the end of the run. */
  readonly peakRootBytes: Partial<Record<TargetName, number>>;
}

export function format(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '-';
  const magnitude = Math.abs(value);
  if (magnitude >= 1000) return Math.round(value).toString();
  if (magnitude >= 100) return value.toFixed(0);
  if (magnitude >= 10) return value.toFixed(1);
  if (magnitude >= 1) return value.toFixed(2);
  if (magnitude === 0) return '0';
  return value.toPrecision(2);
}

function cell(summary: Summary | undefined): string {
  if (!summary) return '-';
  if (summary.n === 1) return format(summary.median);
  return `${format(summary.median)} (${format(summary.min)}-${format(summary.max)})`;
}

function goalText(goal: MetricSpec['goal']): string {
  if (!goal) return '';
  if (goal.min !== undefined) return `>= ${format(goal.min)}x`;
  if (goal.max !== undefined) return `<= ${format(goal.max)}x`;
  return '';
}

function verdict(goal: MetricSpec['goal'], ratio: number | undefined): string {
  if (!goal || ratio === undefined || !Number.isFinite(ratio)) return '';
  const met = (goal.min === undefined || ratio >= goal.min) && (goal.max === undefined || ratio <= goal.max);
  return met ? 'ok' : 'SHORT';
}

export function table(header: readonly string[], rows: readonly (readonly string[])[], rightAligned: ReadonlySet<number>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function rowLabel(title: string, spec: MetricSpec): string {
  if (spec.label === '') return title;
  return spec.label.startsWith(' ') ? `  ${spec.label.trim()}` : spec.label;
}

const MiB = 1024 * 1024;

/** The heading of a reference's ratio column: B/R with one reference, B/3.0.0 with several. */
export function ratioHeading(reference: ReferenceRegistry, references: readonly ReferenceRegistry[]): string {
  return references.length === 1 ? 'B/R' : `B/${reference.label.replace(/^Distribution /, '')}`;
}

function ratioOf(berth: number | undefined, reference: number | undefined): number | undefined {
  return berth !== undefined && reference !== undefined && reference !== 0 ? berth / reference : undefined;
}

function ratioText(ratio: number | undefined): string {
  return ratio === undefined ? '-' : `${format(ratio)}x`;
}

/**
 * Every row: Berth's median, then each reference's median and the ratio Berth/reference, the
 * issue's goal for that ratio, and whether each reference's ratio meets it (one verdict column
 * per reference, in the order given).
 */
export function comparisonTable(
  workloads: readonly WorkloadResult[],
  memory: MemoryResult | undefined,
  references: readonly ReferenceRegistry[],
): string {
  const rows: string[][] = [];
  for (const w of workloads) {
    for (const spec of w.metrics) {
      const berth = summarize(w.values.berth?.[spec.key] ?? []);
      const perReference = references.map((r) => {
        const summary = summarize(w.values[r.name]?.[spec.key] ?? []);
        return { summary, ratio: ratioOf(berth?.median, summary?.median) };
      });
      rows.push([
        rowLabel(w.title, spec),
        spec.unit,
        cell(berth),
        ...perReference.flatMap(({ summary, ratio }) => [cell(summary), ratioText(ratio)]),
        goalText(spec.goal),
        ...perReference.map(({ ratio }) => (w.error ? 'ERROR' : verdict(spec.goal, ratio))),
      ]);
    }
  }
  if (memory) {
    // Issue 20: Berth's peak at most the reference's.
    const goal = { max: 1 };
    const mib = (bytes: Partial<Record<TargetName, number>>, name: TargetName): number | undefined => {
      const value = bytes[name];
      return value === undefined ? undefined : value / MiB;
    };
    const berth = memory.peakTreeBytes.berth ?? 0;
    const ratios = references.map((r) => ratioOf(berth, memory.peakTreeBytes[r.name]));
    rows.push([
      'peak RSS over the run (process tree)',
      'MiB',
      format(berth / MiB),
      ...references.flatMap((r, i) => [format(mib(memory.peakTreeBytes, r.name)), ratioText(ratios[i])]),
      goalText(goal),
      ...ratios.map((ratio) => verdict(goal, ratio)),
    ]);
    for (const [label, bytes] of [
      ['  RSS just after start-up', memory.startTreeBytes],
      ['  main process VmHWM', memory.peakRootBytes],
    ] as const) {
      rows.push([
        label,
        'MiB',
        format(mib(bytes, 'berth')),
        ...references.flatMap((r) => [format(mib(bytes, r.name)), '']),
        '',
        ...references.map(() => ''),
      ]);
    }
  }
  const several = references.length > 1;
  const header = [
    'workload',
    'unit',
    'Berth median (min-max)',
    ...references.flatMap((r) => [`${several ? r.label : 'reference'} median (min-max)`, ratioHeading(r, references)]),
    'goal',
    ...references.map((r) => (several ? `vs ${r.label.replace(/^Distribution /, '')}` : '')),
  ];
  const right = new Set([2, ...references.flatMap((_, i) => [3 + 2 * i, 4 + 2 * i])]);
  return table(header, rows, right);
}

export function limitsTable(
  workloads: readonly WorkloadResult[],
  probes: readonly ProbeResult[],
  references: readonly ReferenceRegistry[],
): string {
  const rows: string[][] = [];
  for (const w of workloads) {
    for (const spec of w.limitMetrics) {
      rows.push([rowLabel(w.title, spec), spec.unit, cell(summarize(w.values.limit?.[spec.key] ?? []))]);
    }
    const share = w.limitShare;
    if (share) {
      // Per repetition, each registry's figure (pull rate) as a share of the limit's in the same repetition.
      const subjects: { name: TargetName; label: string }[] = [
        { name: 'berth', label: 'Berth' },
        ...references.map((r) => ({ name: r.name, label: references.length > 1 ? r.label : 'reference' })),
      ];
      for (const subject of subjects) {
        const own = w.values[subject.name]?.[share.key] ?? [];
        const limit = w.values.limit?.[share.key] ?? [];
        const shares = own.flatMap((v, i) => (limit[i] === undefined ? [] : [(100 * v) / limit[i]]));
        const goal = subject.name === 'berth' && share.berthGoalPercent !== undefined ? ` (goal >= ${share.berthGoalPercent}%)` : '';
        rows.push([`  ${subject.label} pull, share of ${share.of}${goal}`, '%', cell(summarize(shares))]);
      }
    }
  }
  for (const p of probes) {
    for (const spec of p.metrics)
      rows.push([rowLabel(p.id, spec), spec.unit, p.error ? `ERROR: ${p.error}` : cell(summarize(p.values[spec.key] ?? []))]);
  }
  return table(['machine limit', 'unit', 'median (min-max)'], rows, new Set([2]));
}

export function cpuTable(workloads: readonly WorkloadResult[], references: readonly ReferenceRegistry[]): string {
  const pct = (values: number[] | undefined): string => {
    const s = summarize(values ?? []);
    return s ? `${Math.round(s.median * 100)}%` : '-';
  };
  // A row run against Berth alone has no reference server: '-' rather than 0.
  const rss = (bytes: number | undefined): string => (bytes !== undefined && bytes > 0 ? format(bytes / MiB) : '-');
  const rows = workloads.map((w) => [
    w.title,
    pct(w.cpu.berth?.server),
    pct(w.cpu.berth?.client),
    ...references.flatMap((r) => [pct(w.cpu[r.name]?.server), pct(w.cpu[r.name]?.client)]),
    w.limitMetrics.length > 0 ? `${pct(w.cpu.limit?.server)} / ${pct(w.cpu.limit?.client)}` : '',
    rss(w.peakRssBytes.berth),
    ...references.map((r) => rss(w.peakRssBytes[r.name])),
  ]);
  const heading = (r: ReferenceRegistry): string => (references.length > 1 ? r.label : 'reference');
  const header = [
    'CPU while measuring (100% = one core)',
    'Berth',
    'client',
    ...references.flatMap((r) => [heading(r), 'client']),
    'limit / client',
    'RSS MiB: Berth',
    ...references.map(heading),
  ];
  return table(header, rows, new Set(header.map((_, i) => i).slice(1)));
}

/** Medians per subject and metric, for the JSON document. */
export function summaries(w: WorkloadResult): Record<string, Record<string, Summary | undefined>> {
  const out: Record<string, Record<string, Summary | undefined>> = {};
  for (const [subject, values] of Object.entries(w.values)) {
    const entries = Object.entries(values ?? {});
    if (entries.length === 0) continue;
    out[subject] = Object.fromEntries(entries.map(([key, values]) => [key, summarize(values)]));
  }
  return out;
}
