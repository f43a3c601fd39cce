// How workload identity's rules read a token's claims (src/auth/workload-identity.ts), against a
// real issuer's discovery document and keys (oidc-provider on a loopback port): every claim a
// rule names must match; `*` stays within a `/`-separated part and `**` crosses parts; a list of
// globs matches when one does; a list claim matches when one element does; numbers and booleans
// are compared as text; the grants of every applying rule add up; and the access policy then
// gives the job exactly those grants plus what anyone may. An issuer whose discovery document
// cannot be read refuses with a message that says so.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AccessPolicy } from '../../src/auth/access-policy.js';
import { AuthenticationFailed } from '../../src/auth/authenticator.js';
import { WorkloadIdentity, type WorkloadRule } from '../../src/auth/workload-identity.js';
import type { AccountStore } from '../../src/metadata/index.js';
import { freePort } from '../helpers/ports.js';
import { startOidcIssuer, type OidcIssuer } from '../helpers/oidc-issuer.js';

const RULES: WorkloadRule[] = [
  { claims: { project_path: ['group/*'] }, grant: { repositories: ['group/one-level/**'], actions: ['pull'] } },
  { claims: { project_path: ['group/**'], ref_protected: ['true'] }, grant: { repositories: ['group/**'], actions: ['pull', 'push'] } },
  { claims: { groups: ['releasers'] }, grant: { repositories: ['releases/*'], actions: ['push'] } },
  { claims: { run_attempt: ['1', '2'] }, grant: { repositories: ['retries/*'], actions: ['pull'] } },
];

/** An account store with no namespaces and no grants: only the workload's own grants count. */
const NO_ACCOUNTS = { getNamespace: async () => undefined, rolesIn: async () => [] } as unknown as AccountStore;

describe('workload identity rules', () => {
  let issuer: OidcIssuer | undefined;
  let identity: WorkloadIdentity;
  const policy = new AccessPolicy(NO_ACCOUNTS, { rules: [], cacheMs: 0 });

  const token = (claims: Record<string, unknown>): Promise<string> => {
    assert.ok(issuer);
    return issuer.mintToken({ sub: 'job', aud: 'berth', exp: Math.floor(Date.now() / 1000) + 600, ...claims });
  };
  const allowed = async (claims: Record<string, unknown>, repository: string): Promise<string[]> => {
    const principal = await identity.signIn(await token(claims));
    return [...(await policy.allowedActions(principal, repository))].sort();
  };

  before(async () => {
    issuer = await startOidcIssuer();
    identity = new WorkloadIdentity({
      issuers: [{ issuer: issuer.url, audience: ['berth'], algorithms: ['RS256'], jwksUrl: undefined, rules: RULES }],
    });
  });
  after(async () => {
    await issuer?.stop();
  });

  it('matches * within one part and ** across parts, and needs every claim of a rule', async () => {
    // group/app matches group/* and group/**, but ref_protected is missing: only the first rule.
    assert.deepEqual(await allowed({ project_path: 'group/app' }, 'group/one-level/x'), ['pull']);
    assert.deepEqual(await allowed({ project_path: 'group/app' }, 'group/app'), []);
    // group/sub/app does not match group/*; with ref_protected it matches the second rule.
    assert.deepEqual(await allowed({ project_path: 'group/sub/app', ref_protected: 'true' }, 'group/sub/app'), ['pull', 'push']);
    await assert.rejects(
      identity.signIn(await token({ project_path: 'group/sub/app' })),
      (error: Error) => error instanceof AuthenticationFailed && /matches no rule/.test(error.reason),
    );
  });

  it('reads list claims by element, and numbers and booleans as text', async () => {
    assert.deepEqual(await allowed({ groups: ['testers', 'releasers'] }, 'releases/app'), ['push']);
    assert.deepEqual(await allowed({ run_attempt: 2 }, 'retries/app'), ['pull']);
    assert.deepEqual(await allowed({ project_path: 'group/app', ref_protected: true }, 'group/app'), ['pull', 'push']);
  });

  it('adds up the grants of every rule that applies, and nothing else', async () => {
    const claims = { project_path: 'group/one-level', ref_protected: 'true', groups: ['releasers'] };
    assert.deepEqual(await allowed(claims, 'group/one-level/x'), ['pull', 'push']);
    assert.deepEqual(await allowed(claims, 'releases/app'), ['push']);
    assert.deepEqual(await allowed(claims, 'other/app'), []);
  });

  it("says so when the issuer's discovery document cannot be read", async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    const unreachable = new WorkloadIdentity({
      issuers: [{ issuer: down, audience: ['berth'], algorithms: ['RS256'], jwksUrl: undefined, rules: RULES }],
      timeoutMs: 2000,
    });
    assert.ok(issuer);
    const elsewhere = await issuer.mintToken({ sub: 'job', aud: 'berth', exp: Math.floor(Date.now() / 1000) + 600 });
    // A token naming the unreachable issuer: same key, another iss.
    const [header = '', , signature = ''] = elsewhere.split('.');
    const payload = Buffer.from(JSON.stringify({ iss: down, sub: 'job', aud: 'berth', exp: Math.floor(Date.now() / 1000) + 600 })).toString(
      'base64url',
    );
    await assert.rejects(
      unreachable.signIn(`${header}.${payload}.${signature}`),
      (error: Error) =>
        error instanceof AuthenticationFailed && new RegExp(`cannot read the discovery document of issuer ${down}`).test(error.reason),
    );
  });
});
