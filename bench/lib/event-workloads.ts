// The cost of events (issue 17: "event recording costs the push and manifest-GET rows no more
// than 5% against Berth with events off"). Berths of their own: one with a webhook endpoint (a
// receiver in this process answering 200) and the audit log on, one with both off, and for the
// -recorded row one whose endpoint never answers (a closed port: its deliveries fail and wait,
// so what remains is recording alone, without sending). The events-off Berth stands in the
// reference's column, so the ratio each row prints is events on / events off, and the goals are
// the issue's: at least 0.95 of the rate, at most 1.05 of the CPU and the time.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { HttpClient } from './http-client.js';
import type { BenchOptions } from './options.js';
import { MANIFEST_ACCEPT } from './registry-ops.js';
import { startBerth, type ReferenceRegistry, type ServerProcess } from './servers.js';
import type { MetricSpec, Target, Workload } from './workload.js';
import { imageWorkloads, SMALL_REPO, smallRequests } from './workloads.js';

const CONCURRENCY = 16;

/** The bound: events cost at most 5%. */
function eventGoal(metric: MetricSpec): MetricSpec {
  const { goal: _goal, ...rest } = metric;
  if (metric.key === 'rps') return { ...rest, goal: { min: 0.95 } };
  if (metric.key === 'cpuMsPerRequest' || metric.key === 'seconds' || metric.key === 'cpuSeconds') return { ...rest, goal: { max: 1.05 } };
  return rest;
}

/** The rows, by the Berth in the Berth column: delivering to a receiver, or recording only. */
export interface EventWorkloads {
  readonly delivered: readonly Workload[];
  readonly recorded: readonly Workload[];
}

export function eventWorkloads(options: BenchOptions): EventWorkloads {
  const get = (id: string, what: string): Workload => {
    const workload = smallRequests(options, {
      id,
      title: `manifest GET by tag, ${what} / events off, c=${CONCURRENCY}`,
      method: 'GET',
      path: `/v2/${SMALL_REPO}/manifests/latest`,
      headers: { Accept: MANIFEST_ACCEPT },
      concurrency: CONCURRENCY,
      // Fresh servers: warm them up as the auth rows do.
      primeMs: 4 * options.warmupMs,
    });
    return { ...workload, metrics: workload.metrics.map(eventGoal) };
  };
  const push = imageWorkloads(options).find((workload) => workload.id === 'image-push');
  if (push === undefined) throw new Error('the image-push row is missing');
  return {
    delivered: [
      get(`manifest-get-events-c${CONCURRENCY}`, 'events on (an endpoint, audit log)'),
      { ...push, id: 'push-events', title: `${push.title}, events on / off`, metrics: push.metrics.map(eventGoal) },
    ],
    recorded: [get(`manifest-get-events-recorded-c${CONCURRENCY}`, 'events recorded, not sent (endpoint down)')],
  };
}

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A webhook receiver answering 200 to every request, counting the events it got (by the ids in
 * X-Berth-Event-Id, without parsing bodies: a request carries up to 50) and the requests;
 * unreferenced, so it ends with the bench.
 */
export class BenchReceiver {
  /** Events received. */
  received = 0;
  requests = 0;
  private constructor(private readonly server: Server) {}

  static async start(): Promise<BenchReceiver> {
    const server = createServer();
    const receiver = new BenchReceiver(server);
    server.on('request', (request, response) => {
      request.resume();
      request.on('end', () => {
        // Berth's X-Berth-Event-Id (src/events/envelope.ts): the request's event ids, comma-separated.
        const ids = request.headers['x-berth-event-id'];
        receiver.requests++;
        receiver.received += typeof ids === 'string' ? ids.split(',').length : 0;
        response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    // It answers while the bench runs and never keeps the process alive after.
    server.unref();
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/events`;
  }
}

export interface EventTargets {
  /** Events on (delivered) as 'berth', events off in the first reference's column. */
  readonly delivered: readonly Target[];
  /** Events recorded but never sent as 'berth', the same events-off Berth beside it. */
  readonly recorded: readonly Target[];
  readonly receiver: BenchReceiver;
}

/** Starts the Berths the selected rows need; `track` gets each server and client as soon as it exists (the caller stops them). */
export async function startEventTargets(
  dir: string,
  options: BenchOptions,
  references: readonly ReferenceRegistry[],
  want: { readonly delivered: boolean; readonly recorded: boolean },
  track: (server: ServerProcess, client: HttpClient) => void,
): Promise<EventTargets> {
  const receiver = await BenchReceiver.start();
  const on = (url: string): string[] => [
    'notifications:',
    '  endpoints:',
    '    - name: bench',
    `      url: ${url}`,
    '      allowprivateaddresses: true',
    'audit:',
    '  enabled: true',
  ];
  const off = ['audit:', '  enabled: false'];
  const target = async (name: Target['name'], sub: string, extra: readonly string[]): Promise<Target> => {
    const server = await startBerth(join(dir, sub), options, {}, undefined, undefined, extra);
    const client = new HttpClient(server.url);
    track(server, client);
    return { name, server, client };
  };
  const offName = references[0]?.name ?? 'reference';
  const eventsOff = await target(offName, 'events-off', off);
  const delivered = want.delivered ? [await target('berth', 'events-on', on(receiver.url)), eventsOff] : [];
  const down = `http://127.0.0.1:${await closedPort()}/events`;
  const recorded = want.recorded ? [await target('berth', 'events-recorded', on(down)), eventsOff] : [];
  return { delivered, recorded, receiver };
}
