// Teams and their members. Registry administrators manage them; members may see their own
// teams. A member may be a database user or one from the htpasswd file.
import type { Principal } from '../principal.js';
import { AccountUseCase } from './account-use-case.js';
import { denied, exists, unknown, validateAccountName } from './validation.js';

export interface TeamView {
  name: string;
  createdAt: string;
}

export interface TeamDetail extends TeamView {
  members: string[];
}

export class TeamAdmin extends AccountUseCase {
  /** Registry administrators see every team; others the teams they belong to. */
  async listTeams(who: Principal): Promise<TeamView[]> {
    const user = this.user(who);
    const teams = await this.accounts.listTeams();
    if (user.admin) return teams;
    const mine = new Set(await this.accounts.teamsOf(user.name));
    return teams.filter((team) => mine.has(team.name));
  }

  async createTeam(who: Principal, name: string): Promise<TeamView> {
    this.admin(who);
    validateAccountName('name', name);
    if (!(await this.accounts.createTeam(name))) throw exists('team', name);
    const team = await this.accounts.getTeam(name);
    if (!team) throw unknown('team', name);
    return team;
  }

  /** Registry administrators and the team's members. */
  async getTeam(who: Principal, name: string): Promise<TeamDetail> {
    const user = this.user(who);
    validateAccountName('team', name);
    const team = await this.accounts.getTeam(name);
    const members = team ? await this.accounts.teamMembers(name) : [];
    if (!user.admin && !members.includes(user.name)) throw denied('only registry administrators and members may see a team');
    if (!team) throw unknown('team', name);
    return { ...team, members };
  }

  async deleteTeam(who: Principal, name: string): Promise<void> {
    this.admin(who);
    validateAccountName('team', name);
    if (!(await this.accounts.deleteTeam(name))) throw unknown('team', name);
    this.changed();
  }

  /**
   * Adds a member by user name; the user may live in the database or in the htpasswd file.
   * Adding a member twice is not an error.
   */
  async addTeamMember(who: Principal, team: string, user: string): Promise<TeamDetail> {
    this.admin(who);
    validateAccountName('team', team);
    validateAccountName('user', user);
    if (!(await this.accounts.getTeam(team))) throw unknown('team', team);
    await this.existingUser('user', user);
    if ((await this.accounts.addTeamMember(team, user)) === 'no-team') throw unknown('team', team);
    this.changed();
    return this.getTeam(who, team);
  }

  async removeTeamMember(who: Principal, team: string, user: string): Promise<void> {
    this.admin(who);
    validateAccountName('team', team);
    validateAccountName('user', user);
    if (!(await this.accounts.getTeam(team))) throw unknown('team', team);
    if (!(await this.accounts.removeTeamMember(team, user))) throw unknown('member', user);
    this.changed();
  }
}
