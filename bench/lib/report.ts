// Turns the raw per-repetition numbers into the printed tables (median, min-max, ratio
// Berth/reference, goal) and the JSON document kept under bench/results/.
import { summarize, type Summary } from './stats.js';
import type { LimitShare, MetricSpec } from './workload.js';

export type Subject = 'berth' | 'reference' | 'limit';

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
  readonly values: Record<Subject, Record<string, number[]>>;
  readonly cpu: Record<Subject, CpuShare>;
  /** Highest RSS of each server's process tree during this workload (setup included). */
  readonly peakRssBytes: { berth: number; reference: number };
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
  readonly startTreeBytes: Record<'berth' | 'reference', number>;
  /** Highest sampled RSS of each server's process tree over the whole run. */
  readonly peakTreeBytes: Record<'berth' | 'reference', number>;
  /** VmHWM of each server's main process at the end of the run. */
  readonly peakRootBytes: Record<'berth' | 'reference', number>;
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

function table(header: readonly string[], rows: readonly (readonly string[])[], rightAligned: ReadonlySet<number>): string {
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

export function comparisonTable(workloads: readonly WorkloadResult[], memory: MemoryResult | undefined): string {
  const rows: string[][] = [];
  for (const w of workloads) {
    for (const spec of w.metrics) {
      const berth = summarize(w.values.berth[spec.key] ?? []);
      const reference = summarize(w.values.reference[spec.key] ?? []);
      const ratio = berth && reference && reference.median !== 0 ? berth.median / reference.median : undefined;
      rows.push([
        rowLabel(w.title, spec),
        spec.unit,
        cell(berth),
        cell(reference),
        ratio === undefined ? '-' : `${format(ratio)}x`,
        goalText(spec.goal),
        w.error ? 'ERROR' : verdict(spec.goal, ratio),
      ]);
    }
  }
  if (memory) {
    const berth = memory.peakTreeBytes.berth / MiB;
    const reference = memory.peakTreeBytes.reference / MiB;
    rows.push([
      'peak RSS over the run (process tree)',
      'MiB',
      format(berth),
      format(reference),
      reference > 0 ? `${format(berth / reference)}x` : '-',
      '<= 150 MiB',
      berth <= 150 ? 'ok' : 'SHORT',
    ]);
    rows.push([
      '  RSS just after start-up',
      'MiB',
      format(memory.startTreeBytes.berth / MiB),
      format(memory.startTreeBytes.reference / MiB),
      '',
      '',
      '',
    ]);
    rows.push([
      '  main process VmHWM',
      'MiB',
      format(memory.peakRootBytes.berth / MiB),
      format(memory.peakRootBytes.reference / MiB),
      '',
      '',
      '',
    ]);
  }
  return table(['workload', 'unit', 'Berth median (min-max)', 'reference median (min-max)', 'B/R', 'goal', ''], rows, new Set([2, 3, 4]));
}

export function limitsTable(workloads: readonly WorkloadResult[], probes: readonly ProbeResult[]): string {
  const rows: string[][] = [];
  for (const w of workloads) {
    for (const spec of w.limitMetrics) {
      rows.push([rowLabel(w.title, spec), spec.unit, cell(summarize(w.values.limit[spec.key] ?? []))]);
    }
    const share = w.limitShare;
    if (share) {
      // Per repetition, each registry's figure (pull rate) as a share of the limit's in the same repetition.
      for (const subject of ['berth', 'reference'] as const) {
        const own = w.values[subject][share.key] ?? [];
        const limit = w.values.limit[share.key] ?? [];
        const shares = own.flatMap((v, i) => (limit[i] === undefined ? [] : [(100 * v) / limit[i]]));
        const goal = subject === 'berth' && share.berthGoalPercent !== undefined ? ` (goal >= ${share.berthGoalPercent}%)` : '';
        rows.push([`  ${subject === 'berth' ? 'Berth' : 'reference'} pull, share of ${share.of}${goal}`, '%', cell(summarize(shares))]);
      }
    }
  }
  for (const p of probes) {
    for (const spec of p.metrics)
      rows.push([rowLabel(p.id, spec), spec.unit, p.error ? `ERROR: ${p.error}` : cell(summarize(p.values[spec.key] ?? []))]);
  }
  return table(['machine limit', 'unit', 'median (min-max)'], rows, new Set([2]));
}

export function cpuTable(workloads: readonly WorkloadResult[]): string {
  const pct = (values: number[]): string => {
    const s = summarize(values);
    return s ? `${Math.round(s.median * 100)}%` : '-';
  };
  const rows = workloads.map((w) => [
    w.title,
    pct(w.cpu.berth.server),
    pct(w.cpu.berth.client),
    pct(w.cpu.reference.server),
    pct(w.cpu.reference.client),
    w.limitMetrics.length > 0 ? `${pct(w.cpu.limit.server)} / ${pct(w.cpu.limit.client)}` : '',
    // A Berth-only row has no reference server: '-' rather than 0.
    w.peakRssBytes.berth > 0 ? format(w.peakRssBytes.berth / MiB) : '-',
    w.peakRssBytes.reference > 0 ? format(w.peakRssBytes.reference / MiB) : '-',
  ]);
  return table(
    ['CPU while measuring (100% = one core)', 'Berth', 'client', 'reference', 'client', 'limit / client', 'RSS MiB: Berth', 'reference'],
    rows,
    new Set([1, 2, 3, 4, 5, 6, 7]),
  );
}

/** Medians per subject and metric, for the JSON document. */
export function summaries(w: WorkloadResult): Record<string, Record<string, Summary | undefined>> {
  const out: Record<string, Record<string, Summary | undefined>> = {};
  for (const subject of ['berth', 'reference', 'limit'] as const) {
    const entries = Object.entries(w.values[subject]);
    if (entries.length === 0) continue;
    out[subject] = Object.fromEntries(entries.map(([key, values]) => [key, summarize(values)]));
  }
  return out;
}
