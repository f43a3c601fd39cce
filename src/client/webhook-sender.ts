// POSTs webhook deliveries (src/events) to their endpoints under the same SSRF rules as the
// pull-through client (address-policy.ts): http or https only, an IP literal of a private,
// loopback or link-local class refused unless the endpoint allows private addresses, and every
// name re-checked at connect time by guardedLookup. node:http rather than fetch for that hook.
import { Agent as HttpAgent, request as httpRequest, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { classifyAddress, describeUrl, guardedLookup, isAllowedClass } from './address-policy.js';

export interface WebhookRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  readonly body: Buffer;
  readonly timeoutMs: number;
  readonly allowPrivateAddresses: boolean;
}

export interface WebhookAnswer {
  readonly status: number;
}

export class WebhookSender {
  private readonly httpAgent = new HttpAgent({ keepAlive: true, timeout: 30_000 });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true, timeout: 30_000 });
  private readonly lookups = { allowed: guardedLookup(true), guarded: guardedLookup(false) };

  /** Resolves with the status of any answer; rejects when there was none (refused, unreachable, timed out). */
  send(delivery: WebhookRequest): Promise<WebhookAnswer> {
    const url = new URL(delivery.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return Promise.reject(new Error(`refused ${url.protocol} URL: only http and https are allowed`));
    }
    const kind = classifyAddress(url.hostname);
    if (kind !== undefined && !isAllowedClass(kind, delivery.allowPrivateAddresses)) {
      return Promise.reject(new Error(`refused ${describeUrl(url)}: ${kind} address (allow private addresses for this endpoint)`));
    }
    const secure = url.protocol === 'https:';
    const options: RequestOptions = {
      method: 'POST',
      hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
      path: `${url.pathname}${url.search}`,
      headers: { ...delivery.headers, 'content-length': String(delivery.body.length) },
      agent: secure ? this.httpsAgent : this.httpAgent,
      lookup: delivery.allowPrivateAddresses ? this.lookups.allowed : this.lookups.guarded,
      ...(url.port === '' ? {} : { port: Number(url.port) }),
    };
    return new Promise<WebhookAnswer>((resolve, reject) => {
      const request = (secure ? httpsRequest : httpRequest)(options);
      const timer = setTimeout(() => {
        request.destroy(new Error(`${describeUrl(url)}: no response within ${delivery.timeoutMs} ms`));
      }, delivery.timeoutMs);
      request.once('response', (response) => {
        clearTimeout(timer);
        // The body is not read, only drained so the connection can be reused.
        response.resume();
        resolve({ status: response.statusCode ?? 0 });
      });
      request.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      request.end(delivery.body);
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
