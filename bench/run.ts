// `npm run bench`: Berth against the reference registry (CNCF Distribution: Debian's
// docker-registry 2.8 by default, or the builds given with --reference, side by side) on loopback, every workload in alternation (Berth, reference, Berth, ...),
// with the machine's limits (nginx sendfile, SHA-256, disk fsync) measured in the same run.
// The authenticated-pull rows run on a second pair configured with auth (lib/auth-workloads.ts),
// the pull-through cache rows on a caching pair and their upstream (lib/proxy-workloads.ts), the
// garbage-collection rows on copies of one generated content (lib/gc-workloads.ts); `--only growth`
// instead runs Berth over a small and a large index on its own (lib/growth-workloads.ts).
// Prints medians with min-max and the ratio Berth/reference for each reference; writes bench/results/latest.json.
import { access, copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { authWorkloads, startAuthTargets, type AuthTargets } from './lib/auth-workloads.js';
import { gcWorkloads } from './lib/gc-workloads.js';
import { runGrowth, wantsGrowth } from './lib/growth-workloads.js';
import { HttpClient } from './lib/http-client.js';
import { eventWorkloads, startEventTargets, type EventTargets } from './lib/event-workloads.js';
import { ldapWorkloads, startLdapTargets, type LdapTargets } from './lib/ldap-workloads.js';
import { diskProbe, machineInfo, sha256Probe, writeBlobFile } from './lib/machine.js';
import { RssSampler } from './lib/proc-stats.js';
import { parseOptions, usage, type BenchOptions } from './lib/options.js';
import { proxyWorkloads, startProxyTargets, type ProxyTargets } from './lib/proxy-workloads.js';
import {
  comparisonTable,
  cpuTable,
  limitsTable,
  summaries,
  type MemoryResult,
  type ProbeResult,
  type Subject,
  type WorkloadResult,
} from './lib/report.js';
import { runScaleOut } from './lib/scale-out.js';
import { runSoak, soakSelected, soakTable, type SoakResult } from './lib/soak-workloads.js';
import {
  commandVersion,
  compileBerth,
  compiledDir,
  referenceRegistries,
  requireCommand,
  startBerth,
  startNginx,
  startReference,
  type ReferenceRegistry,
  type ServerProcess,
  type TargetName,
} from './lib/servers.js';
import { Meter, type MachineProbe, type Target, type Workload } from './lib/workload.js';
import { LARGE_SEED, NGINX_FILE, blobPull, blobPush, imageWorkloads, listingWorkloads, smallRequestWorkloads } from './lib/workloads.js';

const benchDir = import.meta.dirname;
const log = (message: string): void => void process.stderr.write(`${message}\n`);
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function selected(options: BenchOptions, id: string): boolean {
  return options.only.length === 0 || options.only.some((prefix) => id.startsWith(prefix));
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Appends each metric's value to its list of repetitions. */
function appendValues(lists: Record<string, number[]>, metrics: Record<string, number>): void {
  for (const [key, value] of Object.entries(metrics)) {
    const list = lists[key];
    if (list) list.push(value);
    else lists[key] = [value];
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function runWorkload(
  workload: Workload,
  targets: readonly Target[],
  options: BenchOptions,
  references: readonly ReferenceRegistry[],
  sampler: RssSampler,
): Promise<WorkloadResult> {
  sampler.markPhase();
  // Every subject has its (maybe empty) entries: a Berth-only row has no reference values.
  const subjects: Subject[] = ['berth', ...references.map((r) => r.name), 'limit'];
  const result: WorkloadResult = {
    id: workload.id,
    title: workload.title,
    metrics: workload.metrics,
    limitMetrics: workload.limit?.metrics ?? [],
    ...(workload.limit?.share ? { limitShare: workload.limit.share } : {}),
    values: Object.fromEntries(subjects.map((subject) => [subject, {}])),
    cpu: Object.fromEntries(subjects.map((subject) => [subject, { server: [], client: [] }])),
    peakRssBytes: Object.fromEntries(subjects.filter((subject) => subject !== 'limit').map((subject) => [subject, 0])),
  };
  const record = (subject: Subject, metrics: Record<string, number>, meter: Meter): void => {
    const values = result.values[subject] ?? {};
    const cpu = result.cpu[subject] ?? { server: [], client: [] };
    result.values[subject] = values;
    result.cpu[subject] = cpu;
    appendValues(values, metrics);
    const window = meter.window;
    cpu.server.push(window.serverCpuSeconds / window.wallSeconds);
    cpu.client.push(window.clientCpuSeconds / window.wallSeconds);
  };
  try {
    for (const target of targets) {
      log(`${workload.id}: setting up ${target.name}`);
      await workload.setup?.(target);
    }
    for (let rep = 0; rep < options.reps; rep++) {
      await workload.prepare?.(rep);
      for (const target of targets) {
        await pause(100);
        const meter = new Meter(target.server.tree);
        const metrics = await workload.run(target, rep, meter);
        record(target.name, metrics, meter);
        log(`${workload.id} ${rep + 1}/${options.reps} ${target.name}: ${brief(workload, metrics)}`);
      }
      if (workload.limit) {
        await pause(100);
        const meter = new Meter(workload.limit.tree());
        const metrics = await workload.limit.run(rep, meter);
        record('limit', metrics, meter);
        log(`${workload.id} ${rep + 1}/${options.reps} limit: ${brief(workload, metrics)}`);
      }
    }
  } catch (error) {
    result.error = errorText(error);
    log(`${workload.id}: FAILED: ${result.error}`);
  }
  for (const target of targets) result.peakRssBytes[target.name] = sampler.phasePeak(target.server.tree);
  return result;
}

function brief(workload: Workload, metrics: Record<string, number>): string {
  const units = new Map(workload.metrics.map((m) => [m.key, m.unit]));
  return Object.entries(metrics)
    .map(([key, value]) => `${Number.isInteger(value) ? value : value.toPrecision(4)} ${units.get(key) ?? key}`)
    .join(', ');
}

async function runProbe(probe: MachineProbe, options: BenchOptions): Promise<ProbeResult> {
  const result: ProbeResult = { id: probe.id, metrics: probe.metrics, values: {} };
  try {
    for (let rep = 0; rep < options.reps; rep++) {
      await pause(100);
      const meter = new Meter(undefined);
      const metrics = await probe.run(rep, meter);
      appendValues(result.values, metrics);
      log(
        `${probe.id} ${rep + 1}/${options.reps}: ${Object.values(metrics)
          .map((v) => v.toPrecision(4))
          .join(', ')}`,
      );
    }
  } catch (error) {
    result.error = errorText(error);
    log(`${probe.id}: FAILED: ${result.error}`);
  }
  return result;
}

/** On SIGINT or SIGTERM: runs `stop` (stopping the servers a run started), then exits. */
function onInterrupt(stop: () => Promise<void>): void {
  const onSignal = (): void => {
    log('interrupted: stopping servers');
    void stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}

async function main(): Promise<number> {
  const parsed = parseOptions(process.argv.slice(2));
  if (parsed === 'help') {
    process.stdout.write(usage);
    return 0;
  }
  const options = parsed;
  if (options.scaleOut) return scaleOut(options);
  if (wantsGrowth(options)) return growth(options);
  const references = referenceRegistries(options.references);
  if (options.nginx) requireCommand('nginx', 'nginx');

  const workDir = await mkdtemp(join(tmpdir(), 'berth-bench-'));
  const servers: ServerProcess[] = [];
  const clients: HttpClient[] = [];
  /** Stops what is not a ServerProcess (the LDAP row's slapd). */
  const stops: (() => Promise<void>)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const client of clients) client.close();
    await Promise.all([...servers, ...stops.map((stop) => ({ stop }))].map((s) => s.stop().catch(() => undefined)));
    await rm(workDir, { recursive: true, force: true });
  };
  onInterrupt(cleanup);

  try {
    const startedAt = new Date();
    const machineBefore = machineInfo(workDir);
    log(`temporary folder ${workDir}; load average ${machineBefore.loadAverage.map((l) => l.toFixed(2)).join(' ')}`);

    if (options.compiled) {
      log(`compiling Berth into ${compiledDir}`);
      compileBerth();
    }
    // Authentication is on only in the servers of the auth- rows (started only when selected,
    // alongside the open pair).
    const auth = authWorkloads(options);
    const authRows = { basic: auth.basic.filter((w) => selected(options, w.id)), token: auth.token.filter((w) => selected(options, w.id)) };
    const want = { basic: authRows.basic.length > 0, token: authRows.token.length > 0 };
    const startingAuth: Promise<AuthTargets> =
      want.basic || want.token
        ? startAuthTargets(join(workDir, 'auth'), options, references, want, (server, client) => {
            servers.push(server);
            clients.push(client);
          })
        : Promise.resolve({ basic: [], token: [] });
    const startingPair = (async (): Promise<{ berth: ServerProcess; referenceServers: ServerProcess[] }> => {
      const berth = await startBerth(join(workDir, 'berth'), options);
      servers.push(berth);
      const referenceServers: ServerProcess[] = [];
      for (const reference of references) {
        const server = await startReference(join(workDir, reference.name), reference);
        servers.push(server);
        referenceServers.push(server);
      }
      return { berth, referenceServers };
    })();
    // The pull-through cache rows: an upstream Berth, and a caching Berth and reference of it
    // (started only when a proxy- row is selected).
    let proxyServers: ProxyTargets | undefined;
    const proxyRows = proxyWorkloads(options, () => proxyServers).filter((w) => selected(options, w.id));
    const startingProxy: Promise<ProxyTargets | undefined> =
      proxyRows.length > 0
        ? startProxyTargets(join(workDir, 'proxy'), options, references, (server, client) => {
            servers.push(server);
            clients.push(client);
          })
        : Promise.resolve(undefined);
    // The cost of events: a Berth with an endpoint and the audit log, and one with both off (started only when selected).
    const events = eventWorkloads(options);
    const eventRows = {
      delivered: events.delivered.filter((w) => selected(options, w.id)),
      recorded: events.recorded.filter((w) => selected(options, w.id)),
    };
    const wantEvents = { delivered: eventRows.delivered.length > 0, recorded: eventRows.recorded.length > 0 };
    const startingEvents: Promise<EventTargets | undefined> =
      wantEvents.delivered || wantEvents.recorded
        ? startEventTargets(join(workDir, 'events'), options, references, wantEvents, (server, client) => {
            servers.push(server);
            clients.push(client);
          })
        : Promise.resolve(undefined);
    // LDAP user against database user on one Berth signing users in against a slapd (started only when selected).
    const ldapRows = ldapWorkloads(options).filter((w) => selected(options, w.id));
    const startingLdap: Promise<LdapTargets | undefined> =
      ldapRows.length > 0
        ? startLdapTargets(
            join(workDir, 'ldap'),
            options,
            references,
            (server, client) => {
              if (server !== undefined) servers.push(server);
              clients.push(client);
            },
            (slapd) => stops.push(() => slapd.destroy()),
          )
        : Promise.resolve(undefined);
    // All settle before anything is thrown, so cleanup() sees every server that started.
    const [pair, authStarted, proxyStarted, eventsStarted, ldapStarted] = await Promise.allSettled([
      startingPair,
      startingAuth,
      startingProxy,
      startingEvents,
      startingLdap,
    ]);
    if (pair.status === 'rejected') throw pair.reason;
    if (authStarted.status === 'rejected') throw authStarted.reason;
    if (proxyStarted.status === 'rejected') throw proxyStarted.reason;
    if (eventsStarted.status === 'rejected') throw eventsStarted.reason;
    if (ldapStarted.status === 'rejected') throw ldapStarted.reason;
    const ldapTargets = ldapStarted.value;
    const eventTargets = eventsStarted.value;
    const { berth, referenceServers } = pair.value;
    const authTargets = authStarted.value;
    proxyServers = proxyStarted.value;
    let nginx: ServerProcess | undefined;
    if (options.nginx && selected(options, 'blob-pull')) {
      const root = join(workDir, 'nginx', 'root');
      await mkdir(root, { recursive: true });
      await writeBlobFile(join(root, NGINX_FILE), LARGE_SEED, options.blobBytes);
      nginx = await startNginx(join(workDir, 'nginx'), root);
      servers.push(nginx);
    }
    const referencesText = references
      .map((r, i) => `${r.label} (${r.command}) pid ${referenceServers[i]?.pid} at ${referenceServers[i]?.url}`)
      .join('; ');
    log(
      `berth (${options.compiled ? 'compiled' : 'via tsx'}) pid ${berth.pid} at ${berth.url}; ${referencesText}${nginx ? `; nginx pid ${nginx.pid} at ${nginx.url}` : ''}`,
    );
    if (want.basic || want.token) {
      const describe = (targets: readonly Target[]): string =>
        targets.map((t) => `${t.name} pid ${t.server.pid} at ${t.server.url}`).join(', ') || '-';
      log(
        `with auth (htpasswd, bcrypt cost ${options.bcryptCost}): Basic ${describe(authTargets.basic)}; token server ${describe(authTargets.token)}`,
      );
    }
    if (proxyServers) {
      const caches = proxyServers.targets.map((t) => `${t.name} pid ${t.server.pid} at ${t.server.url}`).join(', ');
      log(`pull-through caches: ${caches}; their upstream (Berth) pid ${proxyServers.upstream.pid} at ${proxyServers.upstream.url}`);
    }
    const authTrees = [...authTargets.basic, ...authTargets.token].map((t) => t.server.tree);
    const proxyTrees = proxyServers ? [proxyServers.upstream.tree, ...proxyServers.targets.map((t) => t.server.tree)] : [];
    // The events and LDAP rows' Berths, so that their rows report a peak RSS too.
    const otherTrees = [...(eventTargets?.delivered ?? []), ...(eventTargets?.recorded ?? []), ...(ldapTargets?.targets ?? [])].map(
      (t) => t.server.tree,
    );

    const named: { name: TargetName; server: ServerProcess }[] = [
      { name: 'berth', server: berth },
      ...references.map((r, i) => ({ name: r.name, server: referenceServers[i] as ServerProcess })),
    ];
    const targets: Target[] = named.map(({ name, server }) => {
      const client = new HttpClient(server.url);
      clients.push(client);
      return { name, server, client };
    });
    for (const { server } of named) server.tree.refresh();
    const perServer = (read: (server: ServerProcess) => number): Partial<Record<TargetName, number>> =>
      Object.fromEntries(named.map(({ name, server }) => [name, read(server)]));
    const startTreeBytes = perServer((server) => server.tree.rssBytes());
    const sampler = new RssSampler([...named.map(({ server }) => server.tree), ...authTrees, ...proxyTrees, ...otherTrees]);
    sampler.start();

    // Each workload with the targets it runs on; the auth- rows follow the open small requests.
    const open = (list: readonly Workload[]): { workload: Workload; targets: readonly Target[] }[] =>
      list.filter((w) => selected(options, w.id)).map((workload) => ({ workload, targets }));
    const runs = [
      ...open([
        blobPull(options, () => nginx),
        blobPush(options, 'monolithic'),
        blobPush(options, 'chunked'),
        ...smallRequestWorkloads(options),
      ]),
      ...authRows.basic.map((workload) => ({ workload, targets: authTargets.basic })),
      ...authRows.token.map((workload) => ({ workload, targets: authTargets.token })),
      ...proxyRows.map((workload) => ({ workload, targets: proxyServers?.targets ?? [] })),
      ...eventRows.delivered.map((workload) => ({ workload, targets: eventTargets?.delivered ?? [] })),
      ...eventRows.recorded.map((workload) => ({ workload, targets: eventTargets?.recorded ?? [] })),
      ...ldapRows.map((workload) => ({ workload, targets: ldapTargets?.targets ?? [] })),
      ...open([...imageWorkloads(options), ...listingWorkloads(options)]),
    ];
    // The garbage-collection rows: their own Berth per repetition and the reference's offline GC.
    const gcRows = gcWorkloads(options, references, join(workDir, 'gc'), log, (server) => servers.push(server)).filter((row) =>
      selected(options, row.workload.id),
    );
    runs.push(...gcRows);
    const probes = [sha256Probe(options), diskProbe(options, workDir)].filter((p) => selected(options, p.id));

    const results: WorkloadResult[] = [];
    for (const { workload, targets: on } of runs) results.push(await runWorkload(workload, on, options, references, sampler));
    const probeResults: ProbeResult[] = [];
    for (const probe of probes) probeResults.push(await runProbe(probe, options));
    // The soak (only when --only names it): mixed pushes and pulls on the open pair at once, for minutes.
    let soak: SoakResult | undefined;
    let soakFailure: string | undefined;
    if (soakSelected(options)) {
      try {
        soak = await runSoak(targets, options, log);
        // Berth's failures fail the run; a reference's are its own behaviour, printed with the table.
        const failed = soak.series.find((s) => s.name === 'berth' && s.errors > 0);
        if (failed) soakFailure = `${failed.errors} failed operations, the first ${failed.firstError ?? ''}`;
      } catch (error) {
        soakFailure = errorText(error);
      }
    }

    sampler.stop();
    const memory: MemoryResult = {
      startTreeBytes,
      peakTreeBytes: perServer((server) => sampler.peak(server.tree)),
      peakRootBytes: perServer((server) => server.tree.rootPeakBytes()),
    };
    const machineAfter = machineInfo(workDir);

    const tables = [
      `Berth (${options.compiled ? 'compiled' : 'via tsx'}) vs ${references.map((r) => `${r.label} (${r.command})`).join(' and ')}` +
        ` (${options.reps} repetition${options.reps === 1 ? '' : 's'}, alternating; B/R = Berth / reference; goals of issue 20, verdicts per reference)`,
      comparisonTable(results, memory, references),
      '',
      limitsTable(results, probeResults, references),
      '',
      cpuTable(results, references),
      ...(soak ? ['', soakTable(soak, references)] : []),
    ].join('\n');
    process.stdout.write(`\n${tables}\n`);
    if (want.basic || want.token) {
      process.stdout.write(
        `\n(authenticated rows: one htpasswd entry, bcrypt cost ${options.bcryptCost}; Distribution's documentation uses 10, Apache's htpasswd -B defaults to 5.` +
          ` The reference runs bcrypt on every request, Berth once per auth.credentialcache, default 1m. The Bearer row runs against Berth alone: the reference has no token server.)\n`,
      );
    }
    if (eventTargets) {
      process.stdout.write(
        `\n(events rows: Berth with a webhook endpoint (a receiver in the bench process, ${eventTargets.receiver.received} events received in ${eventTargets.receiver.requests} requests) and the audit log on,` +
          ` against Berth with both off in the reference column: B/R is events on / events off; the goal is the issue's 5%.` +
          ` The -recorded row's endpoint is down: its events are written but not sent.)\n`,
      );
    }
    if (ldapTargets) {
      process.stdout.write(
        `\n(LDAP row: one Berth with auth.ldap on a slapd; the LDAP user's pulls in the Berth column, a database user's (bcrypt cost ${options.bcryptCost}) in the reference column:` +
          ' B/R is LDAP / database; the goal is within 2x.)\n',
      );
    }
    if (proxyRows.length > 0) {
      process.stdout.write(
        `\n(pull-through cache rows: a caching Berth and the reference in proxy mode, each with an empty cache, in front of one plain Berth upstream on loopback;` +
          ` every repetition pulls a new digest, so each cold pull is a miss. The direct pull (limits table) reads the same blob from the upstream.` +
          ` The reference fetches a missed blob from the upstream twice: once for the client, once to store it.)\n`,
      );
    }
    if (gcRows.length > 0) {
      process.stdout.write(
        `\n(garbage-collection rows: the same content in both (the reference's tree written on disk in Distribution's layout, imported into Berth with berth import distribution), copied afresh for every repetition.` +
          ` Berth's GC runs as \`berth gc --delete-untagged --grace 0s\` beside its running server; the reference's as \`docker-registry garbage-collect --delete-untagged\` with the registry stopped, as it requires.` +
          ` The manifest GET row has no reference column: the reference cannot serve while its garbage collection runs.)\n`,
      );
    }
    if (options.preset !== 'full')
      process.stdout.write(`\n(--${options.preset}: reduced sizes; the numbers only show that the harness works)\n`);

    const failures = [...results, ...probeResults].filter((r) => r.error !== undefined);
    for (const failure of failures) process.stdout.write(`\nFAILED ${failure.id}: ${failure.error ?? ''}\n`);
    if (soakFailure !== undefined) process.stdout.write(`\nFAILED soak: ${soakFailure}\n`);

    const document = {
      schema: 'berth-bench/1',
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      options,
      machine: {
        ...machineAfter,
        loadAverageBefore: machineBefore.loadAverage,
        loadAverageAfter: machineAfter.loadAverage,
        reference: references[0]?.version,
        references: references.map(({ name, command, label, version }) => ({ name, command, label, version })),
        nginx: options.nginx ? commandVersion('nginx', ['-v']) : undefined,
      },
      workloads: results.map((r) => ({ ...r, summary: summaries(r) })),
      machineLimits: probeResults,
      memory,
      ...(soak ? { soak } : {}),
      table: tables,
    };
    const output = options.output ?? join(benchDir, 'results', 'latest.json');
    await mkdir(resolve(output, '..'), { recursive: true });
    await writeFile(output, `${JSON.stringify(document, null, 2)}\n`);
    log(`\nresults written to ${output}`);
    if (options.keep) {
      // One file per day; a second kept run on the same day gets the time too.
      const day = startedAt.toISOString().slice(0, 10);
      let dated = join(benchDir, 'results', `${day}.json`);
      if (await exists(dated)) dated = join(benchDir, 'results', `${day}-${startedAt.toISOString().slice(11, 16).replace(':', '')}.json`);
      await copyFile(output, dated);
      log(`kept as ${dated}`);
    }
    return failures.length === 0 && soakFailure === undefined ? 0 : 1;
  } finally {
    await cleanup();
  }
}

/** --scale-out: Berth single node against 1, 2, 3 replicas on S3 + PostgreSQL (lib/scale-out.ts). */
async function scaleOut(options: BenchOptions): Promise<number> {
  const workDir = await mkdtemp(join(tmpdir(), 'berth-bench-scale-out-'));
  let stop: () => Promise<void> = () => Promise.resolve();
  const onSignal = (): void => {
    log('interrupted: stopping servers');
    void stop()
      .catch(() => undefined)
      .finally(() => void rm(workDir, { recursive: true, force: true }).finally(() => process.exit(130)));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    if (options.compiled) {
      log(`compiling Berth into ${compiledDir}`);
      compileBerth();
    }
    return await runScaleOut(options, workDir, benchDir, log, (s) => {
      stop = s;
    });
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/** --only growth...: Berth over a small and a large index, on SQLite and PostgreSQL (lib/growth-workloads.ts). */
async function growth(options: BenchOptions): Promise<number> {
  if (!options.only.every((prefix) => prefix.startsWith('growth')))
    throw new Error('the growth- rows run on their own: give --only growth (or growth- row ids) without other rows');
  if (options.compiled) {
    log(`compiling Berth into ${compiledDir}`);
    compileBerth();
  }
  return runGrowth(options, benchDir, log, onInterrupt);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(errorText(error));
    process.exit(1);
  },
);
