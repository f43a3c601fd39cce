// Summarises a V8 CPU profile (.cpuprofile, as `node --cpu-prof` or `npm run bench -- --profile DIR`
// writes) as text: where the samples fell, by function and by origin (a source file of Berth,
// a package under node_modules, Node's internals, garbage collection, idle). Open the same file
// in Chrome DevTools (Performance tab) or https://www.speedscope.app for a flame graph.
//
//   node --import tsx bench/profile-summary.ts FILE.cpuprofile [--top N]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly hitCount?: number;
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples?: readonly number[];
}

/** Where a function lives, coarse enough to add up: a package, a Berth file, Node itself. */
export function originOf(url: string, functionName: string): string {
  if (url === '') {
    // V8's pseudo-frames: (garbage collector), (idle), (program), (root); else a native builtin.
    return functionName.startsWith('(') ? functionName : '(native)';
  }
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const inPackage = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (inPackage) return inPackage[1] ?? url;
  const inProject = /\/(src|dist|bench\/\.build)\/(.+)$/.exec(url);
  if (inProject) return `berth:${(inProject[2] ?? url).replace(/\.js$/, '.ts')}`;
  return url;
}

export interface ProfileSummary {
  readonly totalMs: number;
  readonly byFunction: ReadonlyArray<{ readonly name: string; readonly ms: number }>;
  readonly byOrigin: ReadonlyArray<{ readonly name: string; readonly ms: number }>;
}

export function summarise(profile: CpuProfile): ProfileSummary {
  const totalSamples = profile.nodes.reduce((sum, node) => sum + (node.hitCount ?? 0), 0);
  const msPerSample = totalSamples === 0 ? 0 : (profile.endTime - profile.startTime) / 1000 / totalSamples;
  const byFunction = new Map<string, number>();
  const byOrigin = new Map<string, number>();
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const origin = originOf(url, functionName);
    const name = `${functionName || '(anonymous)'} ${origin}${url === '' ? '' : `:${lineNumber + 1}`}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + hits * msPerSample);
    byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + hits * msPerSample);
  }
  const sorted = (map: Map<string, number>) => [...map].map(([name, ms]) => ({ name, ms })).sort((a, b) => b.ms - a.ms);
  return { totalMs: totalSamples * msPerSample, byFunction: sorted(byFunction), byOrigin: sorted(byOrigin) };
}

function render(summary: ProfileSummary, top: number): string {
  const busyMs = summary.totalMs - (summary.byOrigin.find((o) => o.name === '(idle)')?.ms ?? 0);
  const row = (entry: { name: string; ms: number }) =>
    `${entry.ms.toFixed(0).padStart(8)} ms ${((100 * entry.ms) / Math.max(busyMs, 1)).toFixed(1).padStart(5)} %  ${entry.name}`;
  return [
    `${summary.totalMs.toFixed(0)} ms profiled, ${busyMs.toFixed(0)} ms not idle (shares below are of that)`,
    '',
    'by origin (self time):',
    ...summary.byOrigin.slice(0, top).map(row),
    '',
    'by function (self time):',
    ...summary.byFunction.slice(0, top).map(row),
    '',
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '25' } }, allowPositionals: true });
  if (positionals.length !== 1) {
    console.error('usage: node --import tsx bench/profile-summary.ts FILE.cpuprofile [--top N]');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(positionals[0] ?? '', 'utf8')) as CpuProfile;
  process.stdout.write(render(summarise(profile), Number(values.top)));
}
