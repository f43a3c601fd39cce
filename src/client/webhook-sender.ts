// POSTs webhook deliveries (src/events) to their endpoints under the same SSRF rules as the
// pull-through client (address-policy.ts): http or https only, an IP literal of a private,
// loopback or link-local class refused unless the endpoint allows private addresses, and every
// name re-checked at connect time by guardedLookup. node:http rather than fetch for that hook.
// The admin API asks addressProblem before it stores an endpoint, so a refused URL is a 400 at
// once rather than failed deliveries later (the connect-time check still decides each request).
import { lookup } from 'node:dns/promises';
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
    const refused = literalProblem(url, delivery.allowPrivateAddresses);
    if (refused !== undefined) return Promise.reject(new Error(refused));
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
    return this.post(secure, options, url, delivery, true);
  }

  /**
   * One POST. A kept-alive connection the receiver closed meanwhile fails at once (ECONNRESET,
   * "socket hang up") without the request having been read: that one is sent again, once, on a
   * new connection (Node's documented use of request.reusedSocket).
   */
  private post(secure: boolean, options: RequestOptions, url: URL, delivery: WebhookRequest, mayRetry: boolean): Promise<WebhookAnswer> {
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
      request.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (mayRetry && request.reusedSocket && error.code === 'ECONNRESET') {
          resolve(this.post(secure, options, url, delivery, false));
          return;
        }
        reject(error);
      });
      request.end(delivery.body);
    });
  }

  /**
   * Why a webhook URL would be refused, or undefined: its scheme, an IP literal's class, or a name
   * that resolves now to an address of a refused class. A name that does not resolve (yet) is
   * not refused here; its deliveries fail until it does.
   */
  async addressProblem(text: string, allowPrivateAddresses: boolean): Promise<string | undefined> {
    const url = new URL(text);
    const refused = literalProblem(url, allowPrivateAddresses);
    if (refused !== undefined || classifyAddress(url.hostname) !== undefined) return refused;
    let addresses: { address: string }[];
    try {
      addresses = await lookup(url.hostname, { all: true });
    } catch {
      return undefined;
    }
    for (const { address } of addresses) {
      const kind = classifyAddress(address) ?? 'reserved';
      if (!isAllowedClass(kind, allowPrivateAddresses))
        return `refused ${describeUrl(url)}: ${url.hostname} resolves to a ${kind} address${PRIVATE_HINT}`;
    }
    return undefined;
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

const PRIVATE_HINT = ' (allow private addresses for this endpoint)';

/** Why the URL is refused before any lookup (its scheme, or an IP literal's class), or undefined. */
function literalProblem(url: URL, allowPrivateAddresses: boolean): string | undefined {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `refused ${url.protocol} URL: only http and https are allowed`;
  const kind = classifyAddress(url.hostname);
  if (kind !== undefined && !isAllowedClass(kind, allowPrivateAddresses))
    return `refused ${describeUrl(url)}: ${kind} address${PRIVATE_HINT}`;
  return undefined;
}
