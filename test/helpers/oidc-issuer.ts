// A real OpenID Connect issuer for the tests: the `oidc-provider` package (a certified OpenID
// provider) in the test's process, on a loopback port, with discovery, JWKS, the authorization
// and token endpoints, userinfo, and its development login and consent pages (any user name
// signs in; the claims come from `people`). It signs with an RSA key the helper also hands to
// mintToken, so a test can make the ID tokens a CI platform would (any claims, audience and
// expiry) and Berth verifies them against the keys the issuer publishes.
//
// signInThroughIssuer drives a browser's part of the authorization code flow over plain HTTP:
// redirects followed by hand, a cookie jar per host, the login and consent forms posted (or the
// consent refused), until the browser is sent back to Berth's callback.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import Provider from 'oidc-provider';

export interface TestPerson {
  readonly preferred_username?: string;
  readonly email?: string;
  readonly name?: string;
  readonly groups?: readonly string[];
}

export interface OidcIssuerOptions {
  readonly clientId?: string;
  readonly clientSecret?: string;
  /** Account id (the login typed on the login page) -> claims. */
  readonly people?: Readonly<Record<string, TestPerson>>;
}

export interface OidcIssuer {
  /** The issuer identifier: http://127.0.0.1:PORT */
  readonly url: string;
  /** Signs a JWT as this issuer (iss set), with the key its JWKS publishes. */
  mintToken(claims: JWTPayload & { aud: string; sub: string; exp: number }): Promise<string>;
  /** Changes a person's claims for their next sign-in. */
  setPerson(id: string, person: TestPerson): void;
  /**
   * Registers Berth's callback as the client's redirect URI (Berth, listening on a port of its
   * own choosing, is started after the issuer it names). Call before any sign-in.
   */
  allowRedirect(uri: string): void;
  stop(): Promise<void>;
}

const KEY_ID = 'test-signing-key';

export async function startOidcIssuer(options: OidcIssuerOptions = {}): Promise<OidcIssuer> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const people = new Map<string, TestPerson>(Object.entries(options.people ?? {}));
  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const jwk = { ...(await exportJWK(privateKey)), kid: KEY_ID, alg: 'RS256', use: 'sig' };
  const redirectUris = ['http://127.0.0.1/unused'];
  const provide = (): Provider =>
    new Provider(url, {
      clients: [
        {
          client_id: options.clientId ?? 'berth',
          client_secret: options.clientSecret ?? 'berth-test-secret',
          redirect_uris: [...redirectUris],
          response_types: ['code'],
          grant_types: ['authorization_code'],
          token_endpoint_auth_method: 'client_secret_basic',
        },
      ],
      jwks: { keys: [jwk] },
      claims: { openid: ['sub'], profile: ['preferred_username', 'name'], email: ['email'], groups: ['groups'] },
      scopes: ['openid', 'profile', 'email', 'groups'],
      findAccount: (_ctx, id) => ({
        accountId: id,
        claims: () => ({ sub: id, ...people.get(id) }) as { sub: string },
      }),
      cookies: { keys: ['berth-test-cookie-key'] },
      features: { devInteractions: { enabled: true } },
    });
  let handler = provide().callback();
  server.on('request', (request, response) => handler(request, response));
  return {
    url,
    mintToken: (claims) => sign(privateKey, url, claims),
    setPerson: (id, person) => people.set(id, person),
    allowRedirect: (uri) => {
      redirectUris.push(uri);
      handler = provide().callback();
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function sign(key: CryptoKey, issuer: string, claims: JWTPayload): Promise<string> {
  return new SignJWT({ iat: Math.floor(Date.now() / 1000), ...claims, iss: issuer })
    .setProtectedHeader({ alg: 'RS256', kid: KEY_ID, typ: 'JWT' })
    .sign(key);
}

/** Cookies per host:port, as a browser keeps them (attributes other than the name are ignored). */
export class CookieJar {
  private readonly hosts = new Map<string, Map<string, string>>();

  store(url: string, response: Response): void {
    const host = new URL(url).host;
    const jar = this.hosts.get(host) ?? new Map<string, string>();
    this.hosts.set(host, jar);
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const separator = pair.indexOf('=');
      const name = pair.slice(0, separator).trim();
      const value = pair.slice(separator + 1).trim();
      if (value === '' || /max-age=0\b/i.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
  }

  header(url: string): string {
    return [...(this.hosts.get(new URL(url).host) ?? new Map<string, string>())].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  get(url: string, name: string): string | undefined {
    return this.hosts.get(new URL(url).host)?.get(name);
  }
}

/** One request as a browser makes it: the jar's cookies sent, the answer's cookies kept, no redirect followed. */
export async function browserFetch(jar: CookieJar, url: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const cookies = jar.header(url);
  if (cookies !== '') headers.set('Cookie', cookies);
  const response = await fetch(url, { ...init, headers, redirect: 'manual' });
  jar.store(url, response);
  return response;
}

export interface IssuerVisit {
  /** The account to log in as on the issuer's login page. */
  readonly login: string;
  /** Refuse consent instead of granting it (the provider then answers access_denied). */
  readonly denyConsent?: boolean;
}

/**
 * Follows a sign-in from `startUrl` (Berth's /api/v1/session/oidc/start) through the issuer's
 * pages until the browser is sent to a URL on `berthUrl` other than the start: returns that
 * URL (the callback, with code and state) without visiting it.
 */
export async function signInThroughIssuer(jar: CookieJar, startUrl: string, berthUrl: string, visit: IssuerVisit): Promise<string> {
  let url = startUrl;
  let response = await browserFetch(jar, url);
  for (let step = 0; step < 20; step++) {
    if (response.status >= 300 && response.status < 400) {
      await response.arrayBuffer();
      url = new URL(response.headers.get('location') ?? '', url).href;
      if (url.startsWith(berthUrl)) return url;
      response = await browserFetch(jar, url);
      continue;
    }
    const page = await response.text();
    if (response.status !== 200 || !/\/interaction\//.test(url))
      throw new Error(`unexpected page ${response.status} at ${url}: ${page.slice(0, 300)}`);
    const action = new URL(/<form[^>]*action="([^"]+)"/.exec(page)?.[1] ?? url, url).href;
    if (page.includes('name="login"')) {
      response = await browserFetch(jar, action, {
        method: 'POST',
        body: new URLSearchParams({ prompt: 'login', login: visit.login, password: 'any' }),
      });
    } else if (visit.denyConsent) {
      response = await browserFetch(jar, `${url.replace(/\/$/, '')}/abort`);
    } else {
      response = await browserFetch(jar, action, { method: 'POST', body: new URLSearchParams({ prompt: 'consent' }) });
    }
  }
  throw new Error(`the sign-in did not come back to Berth; last at ${url}`);
}
