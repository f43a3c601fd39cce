// Server-side cost from /proc (Linux): CPU seconds and resident memory of a process and all its
// descendants (so cluster workers or helper processes are counted with the server).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const CLOCK_TICKS = (() => {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
})();

interface StatLine {
  readonly ppid: number;
  /** utime + stime + cutime + cstime, in clock ticks (c* hold reaped children). */
  readonly ticks: number;
}

function readStat(pid: number): StatLine | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const field = (i: number): number => Number(fields[i] ?? NaN);
  // fields[0] is field 3 of proc(5): ppid is 4, utime 14, stime 15, cutime 16, cstime 17.
  return { ppid: field(1), ticks: field(11) + field(12) + field(13) + field(14) };
}

/**
 * CPU seconds (user + system) of this process's children that have exited and been reaped
 * (cutime + cstime of /proc/self/stat): a finished command's CPU is the growth across its run.
 */
export function reapedChildrenCpuSeconds(): number {
  const text = readFileSync('/proc/self/stat', 'latin1');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
}

function readStatusKiB(pid: number, key: 'VmRSS' | 'VmHWM'): number {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'latin1');
    const match = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    return match?.[1] === undefined ? 0 : Number(match[1]);
  } catch {
    return 0;
  }
}

/**
 * Inodes of the IPv4 TCP sockets listening on 127.0.0.1:`port` or 0.0.0.0:`port`, from
 * /proc/net/tcp (columns: sl, local_address as hex ADDR:PORT, rem_address, st with 0A = LISTEN,
 * tx_queue:rx_queue, tr:tm->when, retrnsmt, uid, timeout, inode).
 */
function listeningInodes(port: number): Set<string> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const wanted = new Set([`0100007F:${hexPort}`, `00000000:${hexPort}`]);
  const inodes = new Set<string>();
  let text: string;
  try {
    text = readFileSync('/proc/net/tcp', 'latin1');
  } catch {
    return inodes;
  }
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[3] === '0A' && wanted.has(fields[1] ?? '') && fields[9] !== undefined) inodes.add(fields[9]);
  }
  return inodes;
}

/** A process and its descendants, rediscovered on refresh(). */
export class ProcessTree {
  private members: number[];

  constructor(readonly root: number) {
    this.members = [root];
  }

  /** Re-reads which processes descend from the root (one pass over /proc). */
  refresh(): void {
    const parents = new Map<number, number[]>();
    for (const entry of readdirSync('/proc')) {
      const pid = Number(entry);
      if (!Number.isInteger(pid)) continue;
      const stat = readStat(pid);
      if (!stat) continue;
      const siblings = parents.get(stat.ppid);
      if (siblings) siblings.push(pid);
      else parents.set(stat.ppid, [pid]);
    }
    const found: number[] = [];
    const queue = [this.root];
    for (let pid = queue.pop(); pid !== undefined; pid = queue.pop()) {
      found.push(pid);
      queue.push(...(parents.get(pid) ?? []));
    }
    this.members = found;
  }

  get pids(): readonly number[] {
    return this.members;
  }

  /**
   * CPU seconds (user + system) used so far by the tree's members as of the last refresh()
   * (reaped children are included through their parent's cutime and cstime). Throws when the
   * root is gone: a tree without its root would report 0 for a server that another process
   * stands in for, rather than fail.
   */
  cpuSeconds(): number {
    const root = readStat(this.root);
    if (root === undefined) throw new Error(`process ${this.root} is not running: its CPU cannot be measured`);
    let ticks = root.ticks;
    for (const pid of this.members) if (pid !== this.root) ticks += readStat(pid)?.ticks ?? 0;
    return ticks / CLOCK_TICKS;
  }

  /**
   * Whether one of the tree's members (as of the last refresh()) holds the socket listening on
   * 127.0.0.1:`port`, i.e. whether this tree, and not another process, is the server there.
   */
  listensOn(port: number): boolean {
    const inodes = listeningInodes(port);
    if (inodes.size === 0) return false;
    for (const pid of this.members) {
      let fds: string[];
      try {
        fds = readdirSync(`/proc/${pid}/fd`);
      } catch {
        continue;
      }
      for (const fd of fds) {
        try {
          const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
          if (match?.[1] !== undefined && inodes.has(match[1])) return true;
        } catch {
          // Closed since the listing.
        }
      }
    }
    return false;
  }

  /**
   * Bytes the tree's members have passed to write system calls so far (wchar in /proc/<pid>/io:
   * files, pipes and sockets alike), as of the last refresh(); 0 for a member that cannot be read.
   */
  writtenBytes(): number {
    let bytes = 0;
    for (const pid of this.members) {
      try {
        bytes += Number(/^wchar:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? 0);
      } catch {
        // The process has exited, or its io file is not ours to read.
      }
    }
    return bytes;
  }

  /** Resident memory of the tree now, in bytes (members as of the last refresh). */
  rssBytes(): number {
    let kib = 0;
    for (const pid of this.members) kib += readStatusKiB(pid, 'VmRSS');
    return kib * 1024;
  }

  /** The root process's own peak resident memory (VmHWM), in bytes. */
  rootPeakBytes(): number {
    return readStatusKiB(this.root, 'VmHWM') * 1024;
  }
}

/** Samples the resident memory of several trees on a timer, keeping the peak of each. */
export class RssSampler {
  private readonly peaks = new Map<ProcessTree, number>();
  private readonly phasePeaks = new Map<ProcessTree, number>();
  private timer: NodeJS.Timeout | undefined;
  private ticksSinceRefresh = 0;

  constructor(
    private readonly trees: readonly ProcessTree[],
    private readonly intervalMs = 100,
  ) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.sample();
  }

  /** Highest resident memory of the tree seen so far, in bytes. */
  peak(tree: ProcessTree): number {
    return this.peaks.get(tree) ?? 0;
  }

  /** Starts a new phase: phasePeak() then reports the highest RSS seen from now on. */
  markPhase(): void {
    this.phasePeaks.clear();
    this.sample();
  }

  /** Highest resident memory of the tree since the last markPhase(), in bytes. */
  phasePeak(tree: ProcessTree): number {
    this.sample();
    return this.phasePeaks.get(tree) ?? 0;
  }

  private sample(): void {
    // Membership changes rarely; a full /proc scan every 2 s keeps the sampler cheap.
    const refresh = this.ticksSinceRefresh++ % 20 === 0;
    for (const tree of this.trees) {
      if (refresh) tree.refresh();
      const rss = tree.rssBytes();
      if (rss > (this.peaks.get(tree) ?? 0)) this.peaks.set(tree, rss);
      if (rss > (this.phasePeaks.get(tree) ?? 0)) this.phasePeaks.set(tree, rss);
    }
  }
}
