// Assembles authentication from the configuration: the htpasswd file, the login limiter, the
// access policy, and per mode the Bearer token verifier (Berth's own key, or an external token
// server's certificates or JWKS) and the token server. The signing key, unless configured, is
// generated once and kept in the metadata database, so every replica signs and verifies alike.
// With auth.ldap, a directory is consulted for users without a local password; with
// auth.clientcertificates, verified client certificates sign users in; with auth.oidc, people sign
// in to the web UI through OpenID Connect providers; with auth.workloadidentity, CI jobs sign in
// with their OIDC ID tokens.
import type { Logger } from 'pino';
import { AccessPolicy, Authenticator, DEFAULT_RECHECK_MS, LoginLimiter, TokenService } from '../auth/index.js';
import { AccountAdmin } from '../auth/account-admin.js';
import type { AuthObserver } from '../auth/authenticator.js';
import { ClientCertificateSignIn } from '../auth/client-certificates.js';
import { ldapSignIn } from '../auth/ldap/index.js';
import { HtpasswdFile } from '../auth/htpasswd.js';
import { UiSessions } from '../auth/ui-sessions.js';
import { oidcSignIn } from '../auth/oidc/index.js';
import { WorkloadIdentity } from '../auth/workload-identity.js';
import {
  externalTokenVerifierFromFiles,
  generateSigningKeyPem,
  loadSigningKey,
  loadSigningKeyFile,
  ownTokenVerifier,
  TokenIssuer,
  type SigningKey,
  type TokenVerifier,
} from '../auth/token/index.js';
import type { Config } from '../config/index.js';
import type { HttpAuth } from '../http/auth-gate.js';
import type { MetadataStore } from '../metadata/index.js';

/** The database setting under which a generated token signing key is kept. */
const SIGNING_KEY_SETTING = 'token-signing-key';

/**
 * How long namespace decisions are remembered per process, and how often remembered sign-ins
 * and Bearer tokens are checked against the database again. Changes made through this
 * process's admin API apply at once; others (the CLI, another replica) within this time.
 */
export const ACCESS_CACHE_MS = DEFAULT_RECHECK_MS;

/** Authentication as the server holds it: what the routes use, and the directory connections to close. */
export interface ServerAuth extends HttpAuth {
  close(): Promise<void>;
}

export async function createAuth(
  config: Config,
  metadata: MetadataStore,
  logger: Logger,
  observer?: AuthObserver,
): Promise<ServerAuth | undefined> {
  const auth = config.auth;
  if (auth.mode === 'none') return undefined;
  // auth.ldap.cafile and auth.clientcertificates were checked at start-up (startup-checks.ts).
  const ldap = config.auth.ldap && ldapSignIn(config.auth.ldap, metadata.accounts, logger);

  let authenticator: Authenticator | undefined;
  const htpasswd =
    auth.htpasswd &&
    new HtpasswdFile(auth.htpasswd.path, {
      onReload: ({ users, skipped }) => {
        logger.info(
          { path: auth.htpasswd?.path, users, skipped: skipped.map((entry) => `line ${entry.line}: ${entry.reason}`) },
          'htpasswd loaded',
        );
        authenticator?.forgetCredentials();
      },
      onError: (error) =>
        logger.error({ err: error, path: auth.htpasswd?.path }, 'cannot read the htpasswd file; keeping the users last read'),
    });
  // Read it now, so a missing file is reported at start-up rather than at the first login.
  await htpasswd?.refresh(true);

  const policy = new AccessPolicy(metadata.accounts, { rules: auth.access.rules, cacheMs: ACCESS_CACHE_MS });
  let verifier: TokenVerifier | undefined;
  let issuer: TokenIssuer | undefined;
  let service = auth.tokenServer.service;
  if (auth.mode === 'token') {
    const key = await signingKey(config, metadata);
    const server = auth.tokenServer;
    issuer = new TokenIssuer({
      key,
      issuer: server.issuer,
      service: server.service,
      expirationMs: server.expirationMs,
      refreshExpirationMs: server.refreshExpirationMs,
    });
    verifier = ownTokenVerifier(key, server.issuer, server.service);
  } else if (auth.mode === 'external-token' && auth.externalToken) {
    const external = auth.externalToken;
    service = external.service;
    verifier = await externalTokenVerifierFromFiles({
      issuer: external.issuer,
      service: external.service,
      rootCertBundle: external.rootCertBundle,
      jwks: external.jwks,
    });
  }

  authenticator = new Authenticator({
    accounts: metadata.accounts,
    htpasswd,
    admins: auth.access.admins,
    credentialCacheMs: auth.credentialCacheMs,
    limiter: new LoginLimiter(auth.rateLimit),
    recheckMs: ACCESS_CACHE_MS,
    tokenVerifier: verifier,
    tokenIssuer: auth.mode === 'token' ? 'own' : 'external',
    bcryptCost: auth.bcryptCost,
    observer,
    directory: ldap?.directory,
    workloadIdentity: auth.workloadIdentity.issuers.length > 0 ? new WorkloadIdentity(auth.workloadIdentity) : undefined,
  });
  const changed = authenticator;
  // Web UI sign-ins (ui.sessionlifetime), re-checked as often as remembered credentials.
  const sessions = new UiSessions({
    authenticator,
    accounts: metadata.accounts,
    lifetimeMs: config.ui.sessionLifetimeMs,
    recheckMs: ACCESS_CACHE_MS,
  });
  const admin = new AccountAdmin({
    accounts: metadata.accounts,
    bcryptCost: auth.bcryptCost,
    userExistsElsewhere: async (name) => (await htpasswd?.lookup(name)) !== undefined,
    // Changes made here apply at once on this replica: drop what the caches remember.
    onChange: () => {
      policy.invalidate();
      changed.forgetCredentials();
      sessions.forget();
    },
  });
  return {
    mode: auth.mode,
    authenticator,
    policy,
    admin,
    sessions,
    basicRealm: auth.htpasswd?.realm ?? 'Registry Realm',
    tokenRealm: auth.mode === 'external-token' ? auth.externalToken?.realm : auth.tokenServer.realm,
    service,
    tokens: issuer && new TokenService(authenticator, policy, issuer),
    oidc: oidcSignIn({
      providers: auth.oidc.providers,
      accounts: metadata.accounts,
      localUserExists: async (name) => (await htpasswd?.lookup(name)) !== undefined,
      warn: (details, message) => logger.warn(details, message),
    }),
    clientCertificates: auth.clientCertificates && new ClientCertificateSignIn(auth.clientCertificates, authenticator),
    close: async () => ldap?.close(),
  };
}

async function signingKey(config: Config, metadata: MetadataStore): Promise<SigningKey> {
  const file = config.auth.tokenServer.signingKey;
  if (file !== undefined) return loadSigningKeyFile(file);
  // First writer wins, so replicas starting together agree on one key.
  const pem = await metadata.accounts.setSettingIfAbsent(SIGNING_KEY_SETTING, generateSigningKeyPem());
  return loadSigningKey(pem);
}
