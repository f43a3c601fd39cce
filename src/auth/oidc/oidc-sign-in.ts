// Signing people in to the web UI with OpenID Connect (auth.oidc.providers), through the
// well-kept `openid-client` package: the authorization code flow with PKCE (S256), state and
// nonce. begin() discovers the provider (once, then cached; retried after a failure) and builds
// the authorization URL; what the callback must check (state, nonce, the PKCE verifier, the
// provider, the UI page to return to) travels in a short-lived cookie, encrypted (JWE, dir +
// A256GCM) with a key kept in the database so that any replica can finish a flow another began.
// complete() lets openid-client check the callback and redeem the code, reads the claims (the ID
// token's, and the userinfo endpoint's when a mapped claim is missing there), and maps them to a
// Berth account (oidc-accounts.ts). The caller then starts the same UI session as a password
// sign-in does (ui-sessions.ts). Every failure is an OidcSignInFailed whose message the sign-in
// page shows.
import { randomBytes } from 'node:crypto';
import { EncryptJWT, jwtDecrypt } from 'jose';
import * as client from 'openid-client';
import type { AccountStore } from '../../metadata/index.js';
import { OidcAccountRefused, type OidcAccounts } from './oidc-accounts.js';

export interface OidcProvider {
  readonly name: string;
  readonly displayName: string;
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string | undefined;
  readonly scopes: readonly string[];
  readonly usernameClaim: string;
  readonly groupsClaim: string | undefined;
  readonly teams: Readonly<Record<string, string>>;
  /** The registered callback URL; undefined: the caller's (http.host or the request's origin + the callback path). */
  readonly redirectUrl: string | undefined;
}

export interface OidcSignInOptions {
  readonly providers: readonly OidcProvider[];
  readonly accounts: Pick<AccountStore, 'setSettingIfAbsent'>;
  readonly people: OidcAccounts;
  /** How long a started sign-in may take before its callback; default 10 minutes. */
  readonly flowLifetimeMs?: number;
}

/** A sign-in that cannot go on; the message is for the person (the sign-in page shows it). */
export class OidcSignInFailed extends Error {
  override readonly name = 'OidcSignInFailed';
  constructor(
    message: string,
    /** The UI page the person came from, when known. */
    readonly returnPath?: string,
  ) {
    super(message);
  }
}

/** The settings row holding the key that encrypts the flow cookie, generated once. */
const FLOW_KEY_SETTING = 'oidc-flow-key';

/** What the callback needs, carried encrypted in the flow cookie. */
interface FlowState {
  readonly provider: string;
  readonly state: string;
  readonly nonce: string;
  readonly verifier: string;
  readonly redirectUri: string;
  readonly returnPath: string;
}

export class OidcSignIn {
  private readonly providers = new Map<string, OidcProvider>();
  private readonly configurations = new Map<string, Promise<client.Configuration>>();
  #key: Promise<Uint8Array> | undefined;

  constructor(private readonly options: OidcSignInOptions) {
    for (const provider of options.providers) this.providers.set(provider.name, provider);
  }

  /** The providers the sign-in page offers, in configuration order. */
  list(): { name: string; displayName: string }[] {
    return [...this.providers.values()].map(({ name, displayName }) => ({ name, displayName }));
  }

  get flowLifetimeMs(): number {
    return this.options.flowLifetimeMs ?? 10 * 60_000;
  }

  /**
   * Starts a sign-in: the URL to send the browser to and the flow cookie's value.
   * `callbackUrl` is used unless the provider configures its own redirecturl.
   */
  async begin(providerName: string, returnPath: string, callbackUrl: string): Promise<{ authorizationUrl: URL; flow: string }> {
    const provider = this.providers.get(providerName);
    if (provider === undefined) throw new OidcSignInFailed(`there is no sign-in provider named "${providerName.slice(0, 40)}"`, returnPath);
    const configuration = await this.configurationOf(provider, returnPath);
    const flow: FlowState = {
      provider: provider.name,
      state: client.randomState(),
      nonce: client.randomNonce(),
      verifier: client.randomPKCECodeVerifier(),
      redirectUri: provider.redirectUrl ?? callbackUrl,
      returnPath,
    };
    const authorizationUrl = client.buildAuthorizationUrl(configuration, {
      redirect_uri: flow.redirectUri,
      scope: provider.scopes.join(' '),
      code_challenge: await client.calculatePKCECodeChallenge(flow.verifier),
      code_challenge_method: 'S256',
      state: flow.state,
      nonce: flow.nonce,
    });
    return { authorizationUrl, flow: await this.seal(flow) };
  }

  /**
   * Finishes a sign-in at the callback: checks the provider's answer against the flow cookie,
   * redeems the code, and provisions the account. Returns the user name and the page to go to.
   */
  async complete(query: URLSearchParams, flowCookie: string | undefined): Promise<{ user: string; returnPath: string }> {
    const flow = flowCookie === undefined ? undefined : await this.unseal(flowCookie);
    if (flow === undefined) {
      throw new OidcSignInFailed('the sign-in took too long or was started in another browser; please sign in again');
    }
    const provider = this.providers.get(flow.provider);
    if (provider === undefined) throw new OidcSignInFailed(`the provider "${flow.provider}" is no longer configured`, flow.returnPath);
    const configuration = await this.configurationOf(provider, flow.returnPath);
    const currentUrl = new URL(flow.redirectUri);
    currentUrl.search = query.toString();
    let claims: Record<string, unknown>;
    try {
      const tokens = await client.authorizationCodeGrant(
        configuration,
        currentUrl,
        { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce, idTokenExpected: true },
        { redirect_uri: flow.redirectUri },
      );
      const idToken = tokens.claims();
      if (idToken === undefined) throw new OidcSignInFailed(`${provider.displayName} sent no ID token`, flow.returnPath);
      claims = { ...idToken };
      const missing = (name: string | undefined): boolean => name !== undefined && claims[name] === undefined;
      if ((missing(provider.usernameClaim) || missing(provider.groupsClaim)) && configuration.serverMetadata().userinfo_endpoint) {
        claims = { ...(await client.fetchUserInfo(configuration, tokens.access_token, idToken.sub)), ...claims };
      }
    } catch (error) {
      throw new OidcSignInFailed(refusalOf(error, provider), flow.returnPath);
    }
    try {
      const user = await this.options.people.provision(
        { provider: provider.name, usernameClaim: provider.usernameClaim, groupsClaim: provider.groupsClaim, teams: provider.teams },
        claims,
      );
      return { user, returnPath: flow.returnPath };
    } catch (error) {
      if (error instanceof OidcAccountRefused) throw new OidcSignInFailed(error.message, flow.returnPath);
      throw error;
    }
  }

  private configurationOf(provider: OidcProvider, returnPath: string): Promise<client.Configuration> {
    let configuration = this.configurations.get(provider.name);
    if (configuration === undefined) {
      const loopback = new URL(provider.issuer).protocol === 'http:';
      configuration = client.discovery(
        new URL(provider.issuer),
        provider.clientId,
        provider.clientSecret,
        provider.clientSecret === undefined ? client.None() : client.ClientSecretBasic(provider.clientSecret),
        // The schema allows plain http only for a loopback issuer (oidc-schema.ts).
        loopback ? { execute: [client.allowInsecureRequests], timeout: 10 } : { timeout: 10 },
      );
      this.configurations.set(provider.name, configuration);
      // A provider that could not be reached is asked again at the next sign-in.
      configuration.catch(() => this.configurations.delete(provider.name));
    }
    return configuration.catch((error: unknown) => {
      throw new OidcSignInFailed(
        `${provider.displayName} cannot be reached right now (${error instanceof Error ? error.message : String(error)}); try again later`,
        returnPath,
      );
    });
  }

  private key(): Promise<Uint8Array> {
    // First writer wins, so replicas starting together share one key.
    this.#key ??= this.options.accounts
      .setSettingIfAbsent(FLOW_KEY_SETTING, randomBytes(32).toString('base64url'))
      .then((stored) => new Uint8Array(Buffer.from(stored, 'base64url')));
    return this.#key;
  }

  private async seal(flow: FlowState): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new EncryptJWT({ ...flow })
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .setIssuedAt(now)
      .setExpirationTime(now + Math.ceil(this.flowLifetimeMs / 1000))
      .encrypt(await this.key());
  }

  private async unseal(cookie: string): Promise<FlowState | undefined> {
    try {
      const { payload } = await jwtDecrypt(cookie, await this.key(), {
        keyManagementAlgorithms: ['dir'],
        contentEncryptionAlgorithms: ['A256GCM'],
      });
      const { provider, state, nonce, verifier, redirectUri, returnPath } = payload;
      if ([provider, state, nonce, verifier, redirectUri, returnPath].some((value) => typeof value !== 'string')) return undefined;
      return payload as unknown as FlowState;
    } catch {
      return undefined;
    }
  }
}

/** What the person reads when the provider's answer does not check out. */
function refusalOf(error: unknown, provider: OidcProvider): string {
  if (error instanceof OidcSignInFailed) return error.message;
  if (error instanceof client.AuthorizationResponseError) {
    if (error.error === 'access_denied') return `${provider.displayName} did not allow the sign-in (access denied)`;
    return `${provider.displayName} refused the sign-in: ${error.error_description ?? error.error}`;
  }
  // openid-client says "invalid response encountered" and keeps oauth4webapi's reason as the cause.
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : undefined;
  const message = [error instanceof Error ? error.message : String(error), cause].filter(Boolean).join(': ');
  if (/"state"/.test(message)) return 'the sign-in answer does not belong to this browser (state mismatch); please sign in again';
  return `the sign-in with ${provider.displayName} failed: ${message}`;
}
