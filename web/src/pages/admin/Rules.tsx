// Retention and immutability rules (/api/v1/retention/rules and /runs, /api/v1/immutability/rules):
// list both kinds (the configuration file's first, read-only), create and delete rules, and run
// retention as a dry run (the plan) or for real. Retention untags; garbage collection then
// frees the bytes.
import { useState } from 'preact/hooks';
import {
  createImmutabilityRule,
  createRetentionRule,
  deleteImmutabilityRule,
  deleteRetentionRule,
  listImmutabilityRules,
  listRetentionRules,
  type RetentionPlan,
  type RetentionRequest,
  type RetentionRule,
  runRetention,
} from '../../admin-api';
import { ConfirmButton, Show, useLoad } from '../../components';
import { ActionError, AdminForm, Field, RemoveButton, splitList, useAction } from './shared';

export function Rules() {
  return (
    <section aria-labelledby="rules-heading">
      <h1 id="rules-heading">Retention and immutability</h1>
      <RetentionRules />
      <ImmutabilityRules />
    </section>
  );
}

function describeRetention(rule: RetentionRule): string {
  const parts = [
    rule.keeplast === undefined ? '' : `keep the last ${rule.keeplast}`,
    rule.keeptags === undefined || rule.keeptags.length === 0 ? '' : `always keep ${rule.keeptags.join(', ')}`,
    rule.olderthan === undefined ? '' : `delete tags older than ${rule.olderthan}`,
    rule.notpulledfor === undefined ? '' : `delete tags not pulled for ${rule.notpulledfor}`,
    rule.untaggedfor === undefined ? '' : `delete manifests untagged for ${rule.untaggedfor}`,
  ];
  return parts.filter((part) => part !== '').join('; ');
}

function RetentionRules() {
  const [loaded, reload] = useLoad(listRetentionRules, []);
  const [repositories, setRepositories] = useState('');
  const [keeplast, setKeeplast] = useState('');
  const [keeptags, setKeeptags] = useState('');
  const [olderthan, setOlderthan] = useState('');
  const [notpulledfor, setNotpulledfor] = useState('');
  const [untaggedfor, setUntaggedfor] = useState('');
  const [plan, setPlan] = useState<RetentionPlan | undefined>();
  const action = useAction();
  const create = async (): Promise<void> => {
    const optional = (key: keyof RetentionRequest, text: string) => (text.trim() === '' ? {} : { [key]: text.trim() });
    const rule = {
      repositories: repositories.trim(),
      ...(keeplast.trim() === '' ? {} : { keeplast: Number(keeplast) }),
      ...(splitList(keeptags).length === 0 ? {} : { keeptags: splitList(keeptags) }),
      ...optional('olderthan', olderthan),
      ...optional('notpulledfor', notpulledfor),
      ...optional('untaggedfor', untaggedfor),
    } as RetentionRequest;
    if (await action.run(() => createRetentionRule(rule))) {
      for (const clear of [setRepositories, setKeeplast, setKeeptags, setOlderthan, setNotpulledfor, setUntaggedfor]) clear('');
      reload();
    }
  };
  const run = async (dryRun: boolean): Promise<void> => {
    setPlan(await runRetention(dryRun));
  };
  return (
    <section aria-labelledby="retention-heading">
      <h2 id="retention-heading">Retention policies</h2>
      <Show loaded={loaded} what="retention policies">
        {(rules) =>
          rules.length === 0 ? (
            <p class="muted">No retention policies.</p>
          ) : (
            <table class="listing">
              <caption class="visually-hidden">Retention policies, in the order they are matched</caption>
              <thead>
                <tr>
                  <th scope="col">Repositories</th>
                  <th scope="col">Policy</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {rules.map((rule) => (
                  <tr key={rule.id}>
                    <th scope="row">
                      <code>{rule.repositories}</code>
                    </th>
                    <td>{describeRetention(rule)}</td>
                    <td>
                      <RemoveButton
                        readOnly={rule.readOnly}
                        label={`Delete the retention policy for ${rule.repositories}`}
                        question={`Delete the retention policy for ${rule.repositories}?`}
                        confirmLabel="Delete policy"
                        remove={() => deleteRetentionRule(rule.id)}
                        removed={reload}
                      />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Show>
      <h3>Add a retention policy</h3>
      <AdminForm label="Add a retention policy" onSubmit={create}>
        <Field
          id="retention-repositories"
          label="Repositories"
          value={repositories}
          onInput={setRepositories}
          required
          hint="A glob: team/** or team/*."
        />
        <Field
          id="retention-keeplast"
          label="Keep the last"
          type="number"
          min="1"
          value={keeplast}
          onInput={setKeeplast}
          hint="Tags, by push time."
        />
        <Field
          id="retention-keeptags"
          label="Always keep tags"
          value={keeptags}
          onInput={setKeeptags}
          hint="Patterns, comma-separated: v*, latest."
        />
        <Field id="retention-olderthan" label="Delete tags older than" value={olderthan} onInput={setOlderthan} hint="Such as 90d." />
        <Field
          id="retention-notpulledfor"
          label="Delete tags not pulled for"
          value={notpulledfor}
          onInput={setNotpulledfor}
          hint="Such as 30d."
        />
        <Field
          id="retention-untaggedfor"
          label="Delete manifests untagged for"
          value={untaggedfor}
          onInput={setUntaggedfor}
          hint="Such as 7d."
        />
        <button type="submit" disabled={action.busy}>
          Add policy
        </button>
      </AdminForm>
      <fieldset class="admin-form">
        <legend class="visually-hidden">Run retention</legend>
        <button type="button" class="secondary" disabled={action.busy} onClick={() => action.run(() => run(true))}>
          Plan retention (dry run)
        </button>
        <ConfirmButton
          label="Apply retention now"
          question="Untag everything the policies select now? Untagging is not undone."
          confirmLabel="Apply retention"
          onConfirm={() => run(false)}
        />
      </fieldset>
      <ActionError action={action} />
      {plan !== undefined && <RetentionOutcome plan={plan} />}
    </section>
  );
}

function RetentionOutcome({ plan }: { plan: RetentionPlan }) {
  return (
    <div class="notice" role="status">
      <p>
        <strong>{plan.dryRun ? 'Plan' : 'Applied'}</strong>: {plan.totals.tags} tags and {plan.totals.manifests} manifests{' '}
        {plan.dryRun ? 'would be deleted' : 'deleted'}.
      </p>
      {plan.repositories.length > 0 && (
        <ul>
          {plan.repositories.map((repository) => (
            <li key={repository.repository}>
              {repository.repository}:{' '}
              {repository.deleteTags.map((tag) => `${tag.tag} (${tag.reasons.join(', ')})`).join(', ') || 'no tags'}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function ImmutabilityRules() {
  const [loaded, reload] = useLoad(listImmutabilityRules, []);
  const [repositories, setRepositories] = useState('');
  const [tags, setTags] = useState('');
  const [except, setExcept] = useState('');
  const action = useAction();
  const create = async (): Promise<void> => {
    const rule = { repositories: repositories.trim(), tags: splitList(tags), except: splitList(except) };
    if (await action.run(() => createImmutabilityRule(rule))) {
      setRepositories('');
      setTags('');
      setExcept('');
      reload();
    }
  };
  return (
    <section aria-labelledby="immutability-heading">
      <h2 id="immutability-heading">Immutable tags</h2>
      <p class="muted">A protected tag cannot be pushed again with another manifest, deleted, or untagged by retention.</p>
      <Show loaded={loaded} what="immutability rules">
        {(rules) =>
          rules.length === 0 ? (
            <p class="muted">No immutability rules.</p>
          ) : (
            <table class="listing">
              <caption class="visually-hidden">Immutability rules</caption>
              <thead>
                <tr>
                  <th scope="col">Repositories</th>
                  <th scope="col">Tags</th>
                  <th scope="col">Except</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {rules.map((rule) => (
                  <tr key={rule.id}>
                    <th scope="row">
                      <code>{rule.repositories}</code>
                    </th>
                    <td>{rule.tags.join(', ')}</td>
                    <td>{rule.except.join(', ')}</td>
                    <td>
                      <RemoveButton
                        readOnly={rule.readOnly}
                        label={`Delete the immutability rule for ${rule.repositories}`}
                        question={`Delete the immutability rule for ${rule.repositories}? Its tags can then be overwritten and deleted.`}
                        confirmLabel="Delete rule"
                        remove={() => deleteImmutabilityRule(rule.id)}
                        removed={reload}
                      />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Show>
      <h3>Add an immutability rule</h3>
      <AdminForm label="Add an immutability rule" onSubmit={create}>
        <Field
          id="immutability-repositories"
          label="Repositories"
          value={repositories}
          onInput={setRepositories}
          required
          hint="A glob: prod/**."
        />
        <Field
          id="immutability-tags"
          label="Protected tags"
          value={tags}
          onInput={setTags}
          required
          hint="Patterns, comma-separated: v*, release-*."
        />
        <Field id="immutability-except" label="Except tags" value={except} onInput={setExcept} hint="Patterns left alone: *-rc*." />
        <button type="submit" disabled={action.busy}>
          Add rule
        </button>
      </AdminForm>
      <ActionError action={action} />
    </section>
  );
}
