// The auth layer's public surface: authentication, the access policy, the token server.
export { AccessPolicy, type AccessPolicyOptions, type AccessRule } from './access-policy.js';
export {
  AuthenticationFailed,
  Authenticator,
  DEFAULT_RECHECK_MS,
  parseAuthorization,
  type AuthenticatorOptions,
  type UserPrincipal,
} from './authenticator.js';
export { administrator, signedInUser } from './accounts/account-use-case.js';
export { LoginLimiter } from './login-limiter.js';
export { ANONYMOUS, type Principal, type ScopeGrant } from './principal.js';
export { compileRepositoryGlob, namespaceOf } from './repository-glob.js';
export { parseScopes, TokenService, type AccessEntry, type TokenGrant } from './token-service.js';
