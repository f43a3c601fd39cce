// Teams and their members (/api/v1/teams, .../members/:user): create and delete teams, add and
// remove members. A team's grants are set on the Namespaces page.
import { useState } from 'preact/hooks';
import { addTeamMember, createTeam, deleteTeam, getTeam, listTeams, removeTeamMember, type Team } from '../../admin-api';
import { Show, useLoad } from '../../components';
import { ActionError, AdminForm, Field, RemoveButton, useAction, When } from './shared';

export function Teams() {
  const [loaded, reload] = useLoad(listTeams, []);
  const [name, setName] = useState('');
  const create = useAction();
  const submit = async (): Promise<void> => {
    if (await create.run(() => createTeam(name.trim()))) {
      setName('');
      reload();
    }
  };
  return (
    <section aria-labelledby="teams-heading">
      <h1 id="teams-heading">Teams</h1>
      <h2>Create a team</h2>
      <AdminForm label="Create a team" onSubmit={submit}>
        <Field id="new-team-name" label="Team name" value={name} onInput={setName} required autocomplete="off" />
        <button type="submit" disabled={create.busy}>
          Create team
        </button>
      </AdminForm>
      <ActionError action={create} />
      <h2>All teams</h2>
      <Show loaded={loaded} what="teams">
        {(teams) =>
          teams.length === 0 ? (
            <p class="muted">No teams yet.</p>
          ) : (
            <ul class="cards">
              {teams.map((team) => (
                <TeamCard key={team.name} team={team} removed={reload} />
              ))}
            </ul>
          )
        }
      </Show>
    </section>
  );
}

function TeamCard({ team, removed }: { team: Team; removed: () => void }) {
  const [loaded, reload] = useLoad(() => getTeam(team.name), [team.name]);
  const [member, setMember] = useState('');
  const action = useAction();
  const add = async (): Promise<void> => {
    if (await action.run(() => addTeamMember(team.name, member.trim()))) {
      setMember('');
      reload();
    }
  };
  const headingId = `team-${team.name}-heading`;
  return (
    <li class="card" aria-labelledby={headingId}>
      <div class="card-head">
        <h3 id={headingId}>{team.name}</h3>
        <RemoveButton
          label={`Delete team ${team.name}`}
          question={`Delete team ${team.name} with its memberships and grants?`}
          confirmLabel="Delete team"
          remove={() => deleteTeam(team.name)}
          removed={removed}
        />
      </div>
      <p class="muted">
        Created <When at={team.createdAt} />
      </p>
      <Show loaded={loaded} what="members">
        {(details) =>
          details.members.length === 0 ? (
            <p class="muted">No members.</p>
          ) : (
            <ul class="plain" aria-label={`Members of ${team.name}`}>
              {details.members.map((user) => (
                <li key={user} class="member">
                  <span>{user}</span>
                  <button
                    type="button"
                    class="secondary"
                    disabled={action.busy}
                    onClick={async () => (await action.run(() => removeTeamMember(team.name, user))) && reload()}
                  >
                    Remove {user} from {team.name}
                  </button>
                </li>
              ))}
            </ul>
          )
        }
      </Show>
      <AdminForm label={`Add a member to ${team.name}`} onSubmit={add}>
        <Field
          id={`team-${team.name}-member`}
          label={`User to add to ${team.name}`}
          value={member}
          onInput={setMember}
          required
          autocomplete="off"
        />
        <button type="submit" class="secondary" disabled={action.busy}>
          Add member
        </button>
      </AdminForm>
      <ActionError action={action} />
    </li>
  );
}
