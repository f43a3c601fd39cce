// Accounts in the metadata database: users, teams and members, repository namespaces with their
// visibility and role grants, API tokens (only a hash of the secret) and shared settings. The
// store only reads and writes; who may change what is decided above it (auth/account-admin.ts).
// Names are compared exactly (byte order on both databases); callers validate them first. The
// records it returns, and how each is read from its row, are in account-records.ts.
import type { Kysely, Transaction } from 'kysely';
import { ROLES, type Role } from '../oci/access.js';
import {
  toApiToken,
  toGrant,
  toNamespace,
  toUser,
  type AccessControlCounts,
  type ApiTokenRecord,
  type GrantRecord,
  type GrantSubjectKind,
  type NamespaceRecord,
  type NamespaceVisibility,
  type NewApiToken,
  type NewUser,
  type TeamRecord,
  type UserRecord,
} from './account-records.js';
import type { ApiTokensTable, Database } from './schema.js';

type Executor = Kysely<Database> | Transaction<Database>;

const now = (): string => new Date().toISOString();

/** Postgres (23505) and SQLite (SQLITE_CONSTRAINT_PRIMARYKEY / _UNIQUE) report a duplicate key so. */
function isDuplicateKey(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

export class AccountStore {
  constructor(private readonly db: Kysely<Database>) {}

  // ---- users

  /** Creates a user; false (and nothing written) when the name is taken. */
  async createUser(user: NewUser): Promise<boolean> {
    try {
      await this.db
        .insertInto('users')
        .values({ name: user.name, password_hash: user.passwordHash, admin: user.admin ? 1 : 0, created_at: now() })
        .execute();
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  async getUser(name: string): Promise<UserRecord | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
    return row && toUser(row);
  }

  /** Every user in name order. */
  async listUsers(): Promise<UserRecord[]> {
    const rows = await this.db.selectFrom('users').selectAll().orderBy('name').execute();
    return rows.map(toUser);
  }

  /** False when there is no such user. */
  async setPasswordHash(name: string, passwordHash: string): Promise<boolean> {
    const result = await this.db.updateTable('users').set({ password_hash: passwordHash }).where('name', '=', name).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** False when there is no such user. */
  async setAdmin(name: string, admin: boolean): Promise<boolean> {
    const result = await this.db
      .updateTable('users')
      .set({ admin: admin ? 1 : 0 })
      .where('name', '=', name)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * Removes a user with its team memberships, namespace grants and API tokens, in one
   * transaction, so no token or grant outlives its owner. False when there is no such user.
   */
  async deleteUser(name: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const deleted = await trx.deleteFrom('users').where('name', '=', name).executeTakeFirst();
      if (Number(deleted.numDeletedRows) === 0) return false;
      await removeSubject(trx, 'user', name);
      return true;
    });
  }

  /**
   * Removes what a user name holds besides the user row (memberships, grants, tokens): for
   * users that live in an htpasswd file, when an operator removes them there.
   */
  async forgetUserName(name: string): Promise<void> {
    await this.db.transaction().execute((trx) => removeSubject(trx, 'user', name));
  }

  // ---- teams

  /** Creates a team; false when the name is taken. */
  async createTeam(name: string): Promise<boolean> {
    try {
      await this.db.insertInto('teams').values({ name, created_at: now() }).execute();
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  async getTeam(name: string): Promise<TeamRecord | undefined> {
    const row = await this.db.selectFrom('teams').selectAll().where('name', '=', name).executeTakeFirst();
    return row && { name: row.name, createdAt: row.created_at };
  }

  async listTeams(): Promise<TeamRecord[]> {
    const rows = await this.db.selectFrom('teams').selectAll().orderBy('name').execute();
    return rows.map((row) => ({ name: row.name, createdAt: row.created_at }));
  }

  /** Removes a team with its memberships and grants, in one transaction. False when there is no such team. */
  async deleteTeam(name: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const deleted = await trx.deleteFrom('teams').where('name', '=', name).executeTakeFirst();
      if (Number(deleted.numDeletedRows) === 0) return false;
      await trx.deleteFrom('team_members').where('team', '=', name).execute();
      await trx.deleteFrom('namespace_grants').where('subject_kind', '=', 'team').where('subject', '=', name).execute();
      return true;
    });
  }

  /**
   * Adds a user name to a team (the user may live in the database or in an htpasswd file).
   * 'no-team' when the team does not exist; adding a member twice is not an error.
   */
  async addTeamMember(team: string, user: string): Promise<'added' | 'already-member' | 'no-team'> {
    return this.db.transaction().execute(async (trx) => {
      const exists = await trx.selectFrom('teams').select('name').where('name', '=', team).executeTakeFirst();
      if (!exists) return 'no-team';
      const inserted = await trx
        .insertInto('team_members')
        .values({ team, user_name: user })
        .onConflict((oc) => oc.columns(['team', 'user_name']).doNothing())
        .executeTakeFirst();
      return Number(inserted.numInsertedOrUpdatedRows ?? 0n) > 0 ? 'added' : 'already-member';
    });
  }

  /** False when the user was not a member. */
  async removeTeamMember(team: string, user: string): Promise<boolean> {
    const deleted = await this.db.deleteFrom('team_members').where('team', '=', team).where('user_name', '=', user).executeTakeFirst();
    return Number(deleted.numDeletedRows) > 0;
  }

  /** The members of a team, in name order. */
  async teamMembers(team: string): Promise<string[]> {
    const rows = await this.db.selectFrom('team_members').select('user_name').where('team', '=', team).orderBy('user_name').execute();
    return rows.map((row) => row.user_name);
  }

  /** The teams a user belongs to, in name order. */
  async teamsOf(user: string): Promise<string[]> {
    const rows = await this.db.selectFrom('team_members').select('team').where('user_name', '=', user).orderBy('team').execute();
    return rows.map((row) => row.team);
  }

  // ---- namespaces and grants

  async getNamespace(name: string): Promise<NamespaceRecord | undefined> {
    const row = await this.db.selectFrom('namespaces').selectAll().where('name', '=', name).executeTakeFirst();
    return row && toNamespace(row);
  }

  async listNamespaces(): Promise<NamespaceRecord[]> {
    const rows = await this.db.selectFrom('namespaces').selectAll().orderBy('name').execute();
    return rows.map(toNamespace);
  }

  /** Creates the namespace or changes its visibility; returns it as stored. */
  async setNamespaceVisibility(name: string, visibility: NamespaceVisibility): Promise<NamespaceRecord> {
    await this.db
      .insertInto('namespaces')
      .values({ name, visibility, created_at: now() })
      .onConflict((oc) => oc.column('name').doUpdateSet({ visibility }))
      .execute();
    const stored = await this.getNamespace(name);
    if (!stored) throw new Error(`namespace ${name} vanished right after it was written`);
    return stored;
  }

  /**
   * Removes the namespace's row and its grants: it becomes private with no grants. The
   * repositories in it are untouched. False when there was neither a row nor a grant.
   */
  async deleteNamespace(name: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const grants = await trx.deleteFrom('namespace_grants').where('namespace', '=', name).executeTakeFirst();
      const row = await trx.deleteFrom('namespaces').where('name', '=', name).executeTakeFirst();
      return Number(grants.numDeletedRows) + Number(row.numDeletedRows) > 0;
    });
  }

  /**
   * Gives a user or team one role on a namespace, replacing the role it had there. The
   * namespace gets a (private) row if it had none, so it shows up in listings.
   */
  async setGrant(namespace: string, subjectKind: GrantSubjectKind, subject: string, role: Role): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('namespaces')
        .values({ name: namespace, visibility: 'private', created_at: now() })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute();
      await trx
        .insertInto('namespace_grants')
        .values({ namespace, subject_kind: subjectKind, subject, role })
        .onConflict((oc) => oc.columns(['namespace', 'subject_kind', 'subject']).doUpdateSet({ role }))
        .execute();
    });
  }

  /** False when the subject had no role there. */
  async revokeGrant(namespace: string, subjectKind: GrantSubjectKind, subject: string): Promise<boolean> {
    const deleted = await this.db
      .deleteFrom('namespace_grants')
      .where('namespace', '=', namespace)
      .where('subject_kind', '=', subjectKind)
      .where('subject', '=', subject)
      .executeTakeFirst();
    return Number(deleted.numDeletedRows) > 0;
  }

  /** The grants on a namespace: users first, then teams, each in name order. */
  async listGrants(namespace: string): Promise<GrantRecord[]> {
    const rows = await this.db
      .selectFrom('namespace_grants')
      .selectAll()
      .where('namespace', '=', namespace)
      .orderBy('subject_kind', 'desc')
      .orderBy('subject')
      .execute();
    return rows.map(toGrant);
  }

  /** Every grant a user or team holds, in namespace order. */
  async grantsOf(subjectKind: GrantSubjectKind, subject: string): Promise<GrantRecord[]> {
    const rows = await this.db
      .selectFrom('namespace_grants')
      .selectAll()
      .where('subject_kind', '=', subjectKind)
      .where('subject', '=', subject)
      .orderBy('namespace')
      .execute();
    return rows.map(toGrant);
  }

  /** Roles granted on the namespace to the user directly or to any of the teams, lowest first, each once. */
  async rolesIn(namespace: string, user: string, teams: readonly string[]): Promise<Role[]> {
    const rows = await this.db
      .selectFrom('namespace_grants')
      .select('role')
      .where('namespace', '=', namespace)
      .where((eb) => {
        const direct = eb.and([eb('subject_kind', '=', 'user'), eb('subject', '=', user)]);
        // `in ()` is not valid SQL: with no teams, only the direct grant counts.
        if (teams.length === 0) return direct;
        return eb.or([direct, eb.and([eb('subject_kind', '=', 'team'), eb('subject', 'in', [...teams])])]);
      })
      .execute();
    const roles = new Set(rows.map((row) => row.role));
    return ROLES.filter((role) => roles.has(role));
  }

  // ---- API tokens

  async createApiToken(token: NewApiToken): Promise<ApiTokenRecord> {
    const row: ApiTokensTable = {
      id: token.id,
      owner: token.owner,
      name: token.name,
      secret_hash: token.secretHash,
      scopes: JSON.stringify(token.scopes.map((s) => ({ repository: s.repository, actions: [...s.actions] }))),
      expires_at: token.expiresAt ?? null,
      created_at: now(),
      last_used_at: null,
    };
    await this.db.insertInto('api_tokens').values(row).execute();
    return toApiToken(row);
  }

  async getApiToken(id: string): Promise<ApiTokenRecord | undefined> {
    const row = await this.db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toApiToken(row);
  }

  /** One owner's tokens, or everyone's; oldest first. */
  async listApiTokens(owner?: string): Promise<ApiTokenRecord[]> {
    let query = this.db.selectFrom('api_tokens').selectAll().orderBy('created_at').orderBy('id');
    if (owner !== undefined) query = query.where('owner', '=', owner);
    return (await query.execute()).map(toApiToken);
  }

  /** False when there is no such token. */
  async deleteApiToken(id: string): Promise<boolean> {
    const deleted = await this.db.deleteFrom('api_tokens').where('id', '=', id).executeTakeFirst();
    return Number(deleted.numDeletedRows) > 0;
  }

  /** Records that the token was just used (shown in listings, to spot stale tokens). */
  async touchApiToken(id: string, at: Date = new Date()): Promise<void> {
    await this.db.updateTable('api_tokens').set({ last_used_at: at.toISOString() }).where('id', '=', id).execute();
  }

  // ---- access control at a glance

  /**
   * How many users, namespace grants and private namespaces there are: a database that holds
   * any was set up for authentication (start-up refuses to serve it with authentication off).
   * Three counts over small tables.
   */
  async accessControlCounts(): Promise<AccessControlCounts> {
    const [users, grants, privateNamespaces] = await Promise.all([
      this.db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow(),
      this.db
        .selectFrom('namespace_grants')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow(),
      // Anything but an explicit 'public' is private, as toNamespace reads it.
      this.db
        .selectFrom('namespaces')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('visibility', '!=', 'public')
        .executeTakeFirstOrThrow(),
    ]);
    // PostgreSQL's count is a bigint, which pg returns as text.
    return { users: Number(users.n), grants: Number(grants.n), privateNamespaces: Number(privateNamespaces.n) };
  }

  // ---- settings

  async getSetting(key: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
    return row?.value;
  }

  /** Stores value under key, replacing what was there (runtime switches such as read-only mode). */
  async setSetting(key: string, value: string): Promise<void> {
    await this.db
      .insertInto('settings')
      .values({ key, value })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
      .execute();
  }

  /**
   * Stores value under key unless a value is already there; returns the stored one. The
   * insert ignores a conflict, so when replicas race the first commit wins and every replica
   * reads back the same value.
   */
  async setSettingIfAbsent(key: string, value: string): Promise<string> {
    await this.db
      .insertInto('settings')
      .values({ key, value })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
    const stored = await this.getSetting(key);
    if (stored === undefined) throw new Error(`setting ${key} vanished right after it was written`);
    return stored;
  }
}

async function removeSubject(trx: Executor, kind: GrantSubjectKind, name: string): Promise<void> {
  await trx.deleteFrom('team_members').where('user_name', '=', name).execute();
  await trx.deleteFrom('namespace_grants').where('subject_kind', '=', kind).where('subject', '=', name).execute();
  await trx.deleteFrom('api_tokens').where('owner', '=', name).execute();
}
