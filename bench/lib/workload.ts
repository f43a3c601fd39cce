// What a workload is to the runner: rows it reports, an untimed setup per target, and a run
// that brackets its timed part with a Meter (wall time, the client's own CPU, the server's CPU).
import { performance } from 'node:perf_hooks';
import type { HttpClient } from './http-client.js';
import type { ProcessTree } from './proc-stats.js';
import type { ServerProcess, TargetName } from './servers.js';

export interface Target {
  readonly name: TargetName;
  readonly server: ServerProcess;
  readonly client: HttpClient;
}

export interface MetricSpec {
  readonly key: string;
  /** Row label; the workload's title is prefixed unless it starts with a space (a sub-row). */
  readonly label: string;
  readonly unit: string;
  readonly better: 'higher' | 'lower';
  /** The goal for the ratio Berth/reference of this row, e.g. { min: 5 } or { max: 0.1 }. */
  readonly goal?: { readonly min?: number; readonly max?: number };
}

export interface Window {
  readonly wallSeconds: number;
  readonly clientCpuSeconds: number;
  readonly serverCpuSeconds: number;
}

/** Brackets the timed part of a run. */
export class Meter {
  private wall0 = 0;
  private client0: NodeJS.CpuUsage = { user: 0, system: 0 };
  private server0 = 0;
  private result: Window | undefined;

  /** Finds the tree's current processes now, so that begin() and end() only read counters. */
  constructor(private readonly tree: ProcessTree | undefined) {
    tree?.refresh();
  }

  begin(): void {
    this.server0 = this.tree?.cpuSeconds() ?? 0;
    this.client0 = process.cpuUsage();
    this.wall0 = performance.now();
  }

  end(): Window {
    const wallSeconds = (performance.now() - this.wall0) / 1000;
    const client = process.cpuUsage(this.client0);
    const serverCpuSeconds = (this.tree?.cpuSeconds() ?? 0) - this.server0;
    this.result = { wallSeconds, clientCpuSeconds: (client.user + client.system) / 1e6, serverCpuSeconds };
    return this.result;
  }

  get window(): Window {
    if (!this.result) throw new Error('Meter.end() was not called');
    return this.result;
  }
}

export type Metrics = Record<string, number>;

/** How the limits table relates a registry's figure to the limit's (e.g. pull MB/s to nginx's). */
export interface LimitShare {
  readonly key: string;
  /** What the limit is, for the row label: "nginx", "the direct pull". */
  readonly of: string;
  /** Berth's goal, in percent of the limit, if the issue sets one. */
  readonly berthGoalPercent?: number;
}

export interface Workload {
  readonly id: string;
  readonly title: string;
  readonly metrics: readonly MetricSpec[];
  /** Untimed preparation on one target, before its first run. */
  setup?(target: Target): Promise<void>;
  run(target: Target, rep: number, meter: Meter): Promise<Metrics>;
  /** Untimed preparation shared by both targets before repetition `rep` (e.g. hashing). */
  prepare?(rep: number): Promise<void> | void;
  /** A machine-limit measurement run after both targets in each repetition (e.g. nginx). */
  readonly limit?: {
    readonly metrics: readonly MetricSpec[];
    /** Report each registry's `key` as a share of the limit's in the same repetition. */
    readonly share?: LimitShare;
    readonly tree: () => ProcessTree | undefined;
    run(rep: number, meter: Meter): Promise<Metrics>;
  };
}

/** A measurement of the machine alone (no registries), one per repetition. */
export interface MachineProbe {
  readonly id: string;
  readonly metrics: readonly MetricSpec[];
  run(rep: number, meter: Meter): Promise<Metrics>;
}
