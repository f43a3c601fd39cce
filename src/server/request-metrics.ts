// The HTTP request metrics: the RequestObserver the http layer calls once per request, counting
// into plain numbers per route and method (a few map lookups and additions, nothing allocated
// once a route, method and status have been seen), exposed at scrape time as
//   berth_http_requests_total{route,method,status}
//   berth_http_request_duration_seconds{route,method} (histogram)
//   berth_http_request_bytes_total{route}, berth_http_response_bytes_total{route}
// Labels are bounded: route is a route table name from the http layer, method one of the API's
// methods (anything else counts as "other"), status a number of three digits.
import type { Registry } from 'prom-client';
import type { RequestObserver } from '../http/request-observer.js';
import { DurationSeries, ScrapedCounter, ScrapedHistogram, type CounterValues, type HistogramValues } from './scraped-metrics.js';

/** Upper bounds in seconds: a manifest GET takes a fraction of a millisecond, a large push minutes. */
export const REQUEST_DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

const KNOWN_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'DELETE', 'OPTIONS']);

/** What one route and method have seen. */
interface MethodSeries {
  readonly durations: DurationSeries;
  /** Requests by status code. */
  readonly statuses: Map<number, number>;
}

interface RouteSeries {
  readonly methods: Map<string, MethodSeries>;
  bytesIn: number;
  bytesOut: number;
}

export class RequestMetrics implements RequestObserver {
  readonly #routes = new Map<string, RouteSeries>();

  constructor(registry: Registry) {
    const registers = [registry];
    new ScrapedCounter(
      {
        name: 'berth_http_requests_total',
        help: 'HTTP requests answered, by route (the route table name), method and status (499: the client went away first).',
        labelNames: ['route', 'method', 'status'],
        registers,
      },
      () => this.#requestValues(),
    );
    new ScrapedHistogram(
      {
        name: 'berth_http_request_duration_seconds',
        help: 'Time from a request arriving to its response ending, by route and method.',
        labelNames: ['route', 'method'],
        buckets: REQUEST_DURATION_BUCKETS,
        registers,
      },
      () => this.#durationValues(),
    );
    new ScrapedCounter(
      { name: 'berth_http_request_bytes_total', help: 'Request body bytes received, by route.', labelNames: ['route'], registers },
      () => this.#byteValues('in'),
    );
    new ScrapedCounter(
      {
        name: 'berth_http_response_bytes_total',
        help: 'Response body bytes of responses that finished (their Content-Length), by route.',
        labelNames: ['route'],
        registers,
      },
      () => this.#byteValues('out'),
    );
  }

  requestFinished(route: string, method: string, status: number, seconds: number, bytesIn: number, bytesOut: number): void {
    let routeSeries = this.#routes.get(route);
    if (routeSeries === undefined) {
      routeSeries = { methods: new Map(), bytesIn: 0, bytesOut: 0 };
      this.#routes.set(route, routeSeries);
    }
    const methodLabel = KNOWN_METHODS.has(method) ? method : 'other';
    let methodSeries = routeSeries.methods.get(methodLabel);
    if (methodSeries === undefined) {
      methodSeries = { durations: new DurationSeries(REQUEST_DURATION_BUCKETS), statuses: new Map() };
      routeSeries.methods.set(methodLabel, methodSeries);
    }
    methodSeries.durations.observe(seconds);
    methodSeries.statuses.set(status, (methodSeries.statuses.get(status) ?? 0) + 1);
    routeSeries.bytesIn += bytesIn;
    routeSeries.bytesOut += bytesOut;
  }

  #requestValues(): CounterValues<'route' | 'method' | 'status'> {
    const values: CounterValues<'route' | 'method' | 'status'> = [];
    for (const [route, routeSeries] of this.#routes) {
      for (const [method, methodSeries] of routeSeries.methods) {
        for (const [status, count] of methodSeries.statuses)
          values.push({ labels: { route, method, status: String(status) }, value: count });
      }
    }
    return values;
  }

  #durationValues(): HistogramValues<'route' | 'method'> {
    const values: HistogramValues<'route' | 'method'> = [];
    for (const [route, routeSeries] of this.#routes) {
      for (const [method, methodSeries] of routeSeries.methods) {
        methodSeries.durations.appendTo(values, 'berth_http_request_duration_seconds', { route, method });
      }
    }
    return values;
  }

  #byteValues(direction: 'in' | 'out'): CounterValues<'route'> {
    const values: CounterValues<'route'> = [];
    for (const [route, routeSeries] of this.#routes) {
      values.push({ labels: { route }, value: direction === 'in' ? routeSeries.bytesIn : routeSeries.bytesOut });
    }
    return values;
  }
}
