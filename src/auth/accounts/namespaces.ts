// Namespaces (the first component of a repository name): their visibility and the roles users
// and teams hold in them. Registry administrators manage all; a namespace's administrators
// manage theirs.
import type { GrantRecord, GrantSubjectKind, NamespaceVisibility } from '../../metadata/index.js';
import type { Role } from '../../oci/index.js';
import type { Principal } from '../principal.js';
import { AccountUseCase } from './account-use-case.js';
import { denied, parseRole, parseSubjectKind, parseVisibility, unknown, validateAccountName, validateNamespaceName } from './validation.js';

export interface NamespaceView {
  name: string;
  visibility: NamespaceVisibility;
  createdAt: string;
}

export interface GrantView {
  kind: GrantSubjectKind;
  subject: string;
  role: Role;
}

export class NamespaceAdmin extends AccountUseCase {
  /** Registry administrators see every namespace; others the public ones and those they hold a role in. */
  async listNamespaces(who: Principal): Promise<NamespaceView[]> {
    const user = this.user(who);
    const namespaces = await this.accounts.listNamespaces();
    if (user.admin) return namespaces;
    const mine = new Set<string>();
    for (const grant of await this.accounts.grantsOf('user', user.name)) mine.add(grant.namespace);
    for (const team of user.teams) for (const grant of await this.accounts.grantsOf('team', team)) mine.add(grant.namespace);
    return namespaces.filter((ns) => ns.visibility === 'public' || mine.has(ns.name));
  }

  /** Registry administrators, anyone with a role in it, and anyone when it is public. */
  async getNamespace(who: Principal, name: string): Promise<NamespaceView & { roles: Role[] }> {
    const user = this.user(who);
    validateNamespaceName(name);
    const namespace = await this.accounts.getNamespace(name);
    const roles = await this.accounts.rolesIn(name, user.name, user.teams);
    if (!user.admin && roles.length === 0 && namespace?.visibility !== 'public') {
      throw denied(`no role in namespace ${name}`);
    }
    if (!namespace) throw unknown('namespace', name);
    return { ...namespace, roles };
  }

  /** Creates the namespace or changes its visibility: registry administrators and the namespace's administrators. */
  async setNamespaceVisibility(who: Principal, name: string, visibility: string): Promise<NamespaceView> {
    validateNamespaceName(name);
    const parsed = parseVisibility(visibility);
    await this.namespaceAdmin(who, name);
    const stored = await this.accounts.setNamespaceVisibility(name, parsed);
    this.changed();
    return stored;
  }

  /** Forgets the namespace's visibility and grants (it becomes private); registry administrators only. */
  async deleteNamespace(who: Principal, name: string): Promise<void> {
    this.admin(who);
    validateNamespaceName(name);
    if (!(await this.accounts.deleteNamespace(name))) throw unknown('namespace', name);
    this.changed();
  }

  async listGrants(who: Principal, namespace: string): Promise<GrantView[]> {
    validateNamespaceName(namespace);
    await this.namespaceAdmin(who, namespace);
    return (await this.accounts.listGrants(namespace)).map(grantView);
  }

  /** Gives a user or team a role (replacing the one it had): registry and namespace administrators. */
  async setGrant(who: Principal, namespace: string, kind: string, subject: string, role: string): Promise<GrantView> {
    validateNamespaceName(namespace);
    const subjectKind = parseSubjectKind(kind);
    validateAccountName(subjectKind, subject);
    const parsedRole = parseRole(role);
    await this.namespaceAdmin(who, namespace);
    if (subjectKind === 'team' && !(await this.accounts.getTeam(subject))) throw unknown('team', subject);
    if (subjectKind === 'user') await this.existingUser('user', subject);
    await this.accounts.setGrant(namespace, subjectKind, subject, parsedRole);
    this.changed();
    return { kind: subjectKind, subject, role: parsedRole };
  }

  async revokeGrant(who: Principal, namespace: string, kind: string, subject: string): Promise<void> {
    validateNamespaceName(namespace);
    const subjectKind = parseSubjectKind(kind);
    validateAccountName(subjectKind, subject);
    await this.namespaceAdmin(who, namespace);
    if (!(await this.accounts.revokeGrant(namespace, subjectKind, subject))) throw unknown('grant', `${subjectKind} ${subject}`);
    this.changed();
  }
}

function grantView(grant: GrantRecord): GrantView {
  return { kind: grant.subjectKind, subject: grant.subject, role: grant.role };
}
