// Who may do what on a repository, as words every layer shares: the actions a request needs
// (pull, push, delete, as in the Docker token scope `repository:name:pull,push`) and the
// namespace roles that grant them, each role including the ones before it. The configuration's
// access rules, the metadata's grants and API token scopes, and auth's policy all use these.

/** What a request does to a repository. */
export const ACCESS_ACTIONS = ['pull', 'push', 'delete'] as const;
export type AccessAction = (typeof ACCESS_ACTIONS)[number];

/** Namespace roles, each including the ones before it: pull < push < delete < admin. */
export const ROLES = ['pull', 'push', 'delete', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function isAccessAction(value: string): value is AccessAction {
  return (ACCESS_ACTIONS as readonly string[]).includes(value);
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/** The actions a role grants on the repositories of its namespace (admin adds only administration). */
export function actionsOfRole(role: Role): AccessAction[] {
  switch (role) {
    case 'pull':
      return ['pull'];
    case 'push':
      return ['pull', 'push'];
    case 'delete':
    case 'admin':
      return ['pull', 'push', 'delete'];
  }
}
