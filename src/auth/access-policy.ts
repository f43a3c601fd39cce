// The access policy: which actions (pull, push, delete) a principal may take on a repository.
// Three sources are united: the glob rules of the configuration file, the namespaces and grants
// of the database (public namespaces, roles of users and teams), and registry administrators.
// An API token narrows its owner's rights to the token's scopes, and a Bearer token of Berth's
// own server narrows its caller's rights to its access list; neither ever widens them. A CI
// workload (an OIDC ID token, workload-identity.ts) may do what anyone may, plus its rules' grants.
import type { AccountStore } from '../metadata/index.js';
import { ACCESS_ACTIONS, actionsOfRole, isAccessAction, type AccessAction } from '../oci/index.js';
import type { Principal, ScopeGrant } from './principal.js';
import { compileRepositoryGlob, namespaceOf, repositoryGlob } from './repository-glob.js';
import type { ResourceAccess } from './token/index.js';

/** One glob rule (auth.access.rules): who may do what on the repositories it matches. */
export interface AccessRule {
  /** Repository glob: `*` matches within one path component, `**` across components. */
  readonly repository: string;
  readonly anonymous: readonly AccessAction[];
  /** Any signed-in user. */
  readonly authenticated: readonly AccessAction[];
  readonly users: Readonly<Record<string, readonly AccessAction[]>>;
  readonly teams: Readonly<Record<string, readonly AccessAction[]>>;
}

interface CompiledRule {
  readonly pattern: RegExp;
  readonly rule: AccessRule;
}

export interface AccessPolicyOptions {
  /** The glob rules; undefined: every signed-in user may do everything (Distribution's model). */
  readonly rules: readonly AccessRule[] | undefined;
  /**
   * How long a namespace's visibility and a user's roles in it are remembered. Grants changed
   * through this process's admin API apply at once (invalidate()); changes made elsewhere (the
   * CLI, another replica) within this time.
   */
  readonly cacheMs: number;
}

export class AccessPolicy {
  private readonly rules: readonly CompiledRule[] | undefined;
  private readonly cache = new Map<string, { actions: ReadonlySet<AccessAction>; until: number }>();

  constructor(
    private readonly accounts: AccountStore,
    private readonly options: AccessPolicyOptions,
  ) {
    this.rules = options.rules?.map((rule) => ({ pattern: compileRepositoryGlob(rule.repository), rule }));
  }

  /** Forgets remembered namespace decisions (after grants or visibility changed). */
  invalidate(): void {
    this.cache.clear();
  }

  /** The actions the principal may take on the repository. External tokens carry their own. */
  async allowedActions(principal: Principal, repository: string): Promise<ReadonlySet<AccessAction>> {
    if (principal.kind === 'token') return tokenActions(principal.access, repository);
    const allowed = new Set<AccessAction>(this.ruleActions(principal, repository));
    if (principal.kind === 'user' && principal.admin) for (const action of ACCESS_ACTIONS) allowed.add(action);
    if (principal.kind === 'workload') for (const action of scopeActions(principal.grants, repository)) allowed.add(action);
    if (allowed.size < ACCESS_ACTIONS.length) {
      for (const action of await this.namespaceActions(principal, namespaceOf(repository))) allowed.add(action);
    }
    if (principal.kind === 'user' && principal.apiToken !== undefined) {
      keepOnly(allowed, scopeActions(principal.apiToken.scope, repository));
    }
    if (principal.bearer !== undefined) keepOnly(allowed, tokenActions(principal.bearer.access, repository));
    return allowed;
  }

  /** True when the principal may take every one of the actions on the repository. */
  async allows(principal: Principal, repository: string, actions: readonly AccessAction[]): Promise<boolean> {
    const allowed = await this.allowedActions(principal, repository);
    return actions.every((action) => allowed.has(action));
  }

  private ruleActions(principal: Principal, repository: string): AccessAction[] {
    if (this.rules === undefined) return principal.kind === 'user' ? [...ACCESS_ACTIONS] : [];
    const out: AccessAction[] = [];
    for (const { pattern, rule } of this.rules) {
      if (!pattern.test(repository)) continue;
      out.push(...rule.anonymous);
      if (principal.kind !== 'user') continue;
      out.push(...rule.authenticated, ...(rule.users[principal.name] ?? []));
      for (const team of principal.teams) out.push(...(rule.teams[team] ?? []));
    }
    return out;
  }

  private async namespaceActions(principal: Principal, namespace: string): Promise<ReadonlySet<AccessAction>> {
    const key =
      principal.kind === 'user' ? `user\0${principal.name}\0${principal.teams.join(',')}\0${namespace}` : `anonymous\0${namespace}`;
    const cached = this.cache.get(key);
    const now = Date.now();
    if (cached !== undefined && cached.until > now) return cached.actions;

    const actions = new Set<AccessAction>();
    const record = await this.accounts.getNamespace(namespace);
    if (record?.visibility === 'public') actions.add('pull');
    if (principal.kind === 'user') {
      for (const role of await this.accounts.rolesIn(namespace, principal.name, principal.teams)) {
        for (const action of actionsOfRole(role)) actions.add(action);
      }
    }
    if (this.options.cacheMs > 0) {
      // Bounded: a scan of many namespaces must not grow the cache without limit.
      if (this.cache.size >= 10_000) this.cache.clear();
      this.cache.set(key, { actions, until: now + this.options.cacheMs });
    }
    return actions;
  }
}

function scopeActions(scopes: readonly ScopeGrant[], repository: string): Set<AccessAction> {
  const out = new Set<AccessAction>();
  for (const scope of scopes) {
    if (repositoryGlob(scope.repository).test(repository)) for (const action of scope.actions) out.add(action);
  }
  return out;
}

function keepOnly(allowed: Set<AccessAction>, permitted: ReadonlySet<AccessAction>): void {
  for (const action of allowed) if (!permitted.has(action)) allowed.delete(action);
}

/** What a token's access list grants on the repository. */
function tokenActions(access: readonly ResourceAccess[], repository: string): Set<AccessAction> {
  const out = new Set<AccessAction>();
  for (const entry of access) {
    if (entry.type !== 'repository' || entry.name !== repository) continue;
    for (const action of entry.actions) {
      if (action === '*') for (const all of ACCESS_ACTIONS) out.add(all);
      else if (isAccessAction(action)) out.add(action);
    }
  }
  return out;
}
