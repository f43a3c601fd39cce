// Authentication to one upstream, driven by its WWW-Authenticate challenges: Basic (the
// configured credentials, sent only to the upstream's own origin) or Bearer (a token from the
// challenge's realm, per the Docker token specification, with the configured credentials sent
// only to that realm). Tokens are cached per repository pull scope until shortly before they
// expire, and concurrent requests for the same scope share one token request.
import { untilSettled } from './abort.js';
import { checkTarget, describeUrl, TargetRefusedError } from './address-policy.js';
import { parseChallenges } from './challenge.js';
import { discard, readBounded, type Transport } from './transport.js';
import { UpstreamError } from './upstream-error.js';

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

interface BearerChallenge {
  readonly realm: URL;
  readonly service: string | undefined;
}

interface CachedToken {
  readonly token: string;
  /** Date.now() after which the token is not used any more. */
  readonly expiresAt: number;
}

/** The Docker token specification's default when expires_in is absent. */
const defaultLifetimeSeconds = 60;
/** A token answer is small (a JWT of a few KiB); anything near this is not a token answer. */
const maxTokenAnswerBytes = 1024 * 1024;

export class UpstreamAuth {
  private scheme: 'unknown' | 'basic' | BearerChallenge = 'unknown';
  private readonly tokens = new Map<string, CachedToken>();
  private readonly pending = new Map<string, Promise<CachedToken>>();

  constructor(
    private readonly upstream: URL,
    private readonly credentials: Credentials | undefined,
    private readonly transport: Transport,
    private readonly allowPrivateAddresses: boolean,
    private readonly name: string,
  ) {}

  /**
   * The Authorization header for a request about this repository, when the upstream already
   * told us how it authenticates; saves the 401 round trip on every request but the first.
   */
  async authorizationFor(repository: string, signal: AbortSignal | undefined): Promise<string | undefined> {
    const scheme = this.scheme;
    if (scheme === 'unknown') return undefined;
    if (scheme === 'basic') return this.basicHeader();
    const token = await this.token(scheme, repository, undefined, undefined, signal);
    return `Bearer ${token.token}`;
  }

  /**
   * After a 401: the Authorization header to retry with once, or undefined when there is
   * nothing (more) to try (no usable challenge, Basic credentials already rejected or absent).
   * `sent` is the header the rejected request carried: a rejected cached token is replaced.
   */
  async answerChallenge(
    repository: string,
    header: string | string[] | undefined,
    sent: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<string | undefined> {
    const challenges = parseChallenges(header);
    const bearer = challenges.find((challenge) => challenge.scheme === 'bearer' && challenge.params.has('realm'));
    if (bearer) {
      const realmText = bearer.params.get('realm') ?? '';
      let realm: URL;
      try {
        realm = new URL(realmText);
      } catch {
        throw new UpstreamError('protocol', `${this.name}: the Bearer challenge names an invalid realm URL`, 401);
      }
      const challenge: BearerChallenge = { realm, service: bearer.params.get('service') };
      const rejected = sent?.startsWith('Bearer ') ? sent.slice('Bearer '.length) : undefined;
      const token = await this.token(challenge, repository, bearer.params.get('scope'), rejected, signal);
      // Remembered only once a token came from it: a refused or failing realm is asked about
      // again on the next request, so a corrected upstream configuration takes effect.
      this.scheme = challenge;
      return `Bearer ${token.token}`;
    }
    if (challenges.some((challenge) => challenge.scheme === 'basic')) {
      this.scheme = 'basic';
      if (sent?.startsWith('Basic ')) return undefined; // the credentials were rejected
      return this.basicHeader();
    }
    return undefined;
  }

  private basicHeader(): string | undefined {
    if (!this.credentials) return undefined;
    const { username, password } = this.credentials;
    return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
  }

  /** A valid token for the repository's pull scope: cached, shared with a request in flight, or fetched. */
  private async token(
    challenge: BearerChallenge,
    repository: string,
    challengeScope: string | undefined,
    rejected: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<CachedToken> {
    const key = `${challenge.realm.href} ${challenge.service ?? ''} ${repository}`;
    const cached = this.tokens.get(key);
    if (cached && cached.token !== rejected && cached.expiresAt > Date.now()) return cached;
    if (cached) this.tokens.delete(key);
    const inFlight = this.pending.get(key);
    if (inFlight) {
      const shared = await inFlight;
      if (shared.token !== rejected) return shared;
    }
    const scope = challengeScope ?? `repository:${repository}:pull`;
    // The token request is not tied to this caller's signal: other callers may share it.
    const fetching = this.fetchToken(challenge, scope).finally(() => this.pending.delete(key));
    this.pending.set(key, fetching);
    const token = await untilSettled(fetching, signal);
    this.tokens.set(key, token);
    return token;
  }

  private async fetchToken(challenge: BearerChallenge, scope: string): Promise<CachedToken> {
    const url = new URL(challenge.realm.href);
    if (challenge.service !== undefined) url.searchParams.set('service', challenge.service);
    // Several scopes are separate scope parameters (token specification, "Requesting a Token").
    for (const part of scope.split(' ').filter((s) => s !== '')) url.searchParams.append('scope', part);
    const where = `${this.name}: token request to ${describeUrl(url)}`;
    let trusted: boolean;
    try {
      trusted = checkTarget(url, {
        upstream: this.upstream,
        from: this.upstream,
        allowPrivateAddresses: this.allowPrivateAddresses,
      }).trusted;
    } catch (error) {
      if (error instanceof TargetRefusedError) throw new UpstreamError('refused', `${this.name}: token realm ${error.message}`);
      throw error;
    }
    // The realm is where the challenge told us to authenticate: the one host besides the
    // upstream that may see the credentials, and only for this request.
    const authorization = this.basicHeader();
    const answer = await this.transport.send({
      method: 'GET',
      url,
      headers: { accept: 'application/json', ...(authorization === undefined ? {} : { authorization }) },
      trusted,
    });
    if (answer.status !== 200) {
      discard(answer);
      if (answer.status === 401 || answer.status === 403) {
        throw new UpstreamError(
          'unauthorized',
          `${where}: ${answer.status}, the token server refused ${authorization ? 'the configured credentials' : 'anonymous access'}`,
          answer.status,
        );
      }
      if (answer.status === 429 || answer.status >= 500) {
        throw new UpstreamError('unreachable', `${where}: ${answer.status}`, answer.status);
      }
      throw new UpstreamError('protocol', `${where}: unexpected status ${answer.status}`, answer.status);
    }
    const body = await readBounded(answer, maxTokenAnswerBytes, where, this.transport.timeoutMs);
    return parseTokenAnswer(body, where, Date.now());
  }
}

/** The token and its expiry from a token server's JSON answer (`token` or OAuth's `access_token`). */
export function parseTokenAnswer(body: Buffer, where: string, now: number): CachedToken {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new UpstreamError('protocol', `${where}: the answer is not JSON`, 200);
  }
  if (typeof parsed !== 'object' || parsed === null) throw new UpstreamError('protocol', `${where}: the answer is not a JSON object`, 200);
  const record = parsed as Record<string, unknown>;
  const token = [record.token, record.access_token].find((value): value is string => typeof value === 'string' && value !== '');
  if (token === undefined) throw new UpstreamError('protocol', `${where}: the answer has no token`, 200);
  const expiresIn =
    typeof record.expires_in === 'number' && Number.isFinite(record.expires_in) && record.expires_in > 0
      ? record.expires_in
      : defaultLifetimeSeconds;
  // Stop using a token a little before it expires, so that it does not expire in flight
  // (and to absorb clock skew): a quarter of its life, at most 30 s.
  const marginSeconds = Math.min(30, expiresIn / 4);
  return { token, expiresAt: now + (expiresIn - marginSeconds) * 1000 };
}
