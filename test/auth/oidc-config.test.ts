// Start-up refuses a bad OpenID Connect or workload identity configuration with messages that
// name the key and what is wrong: an issuer over plain http off the loopback address, a provider
// without clientid, a workload issuer without rules, the same provider name twice.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startRegistry, testTarget } from '../helpers/registry.js';

describe('auth.oidc and auth.workloadidentity at start-up', { skip: testTarget === 'reference' ? 'Berth-only' : false }, () => {
  it('refuses insecure issuers, a missing client id and an issuer without rules, saying which key', async () => {
    const failure = await startRegistry({
      extraConfig: [
        'auth:',
        '  oidc:',
        '    providers:',
        '      - {name: corp, issuer: "http://login.example.com"}',
        '  workloadidentity:',
        '    issuers:',
        '      - {issuer: "https://token.actions.githubusercontent.com", audience: berth, rules: []}',
      ].join('\n'),
    }).then(
      async (registry) => {
        await registry.stop();
        return '';
      },
      (error: Error) => error.message,
    );
    assert.match(
      failure,
      /auth\.oidc\.providers\.0\.issuer.*an https URL such as https:\/\/login\.example\.com \(http only on a loopback address\), got "http:\/\/login\.example\.com"/,
    );
    assert.match(failure, /auth\.oidc\.providers\.0\.clientid: is required: the client id registered for Berth/);
    assert.match(failure, /auth\.workloadidentity\.issuers\.0\.rules.*an issuer needs at least one rule/);
  });

  it('refuses the same provider name twice', async () => {
    const provider = '{name: corp, issuer: "https://login.example.com", clientid: berth}';
    const failure = await startRegistry({
      extraConfig: ['auth:', '  oidc:', `    providers: [${provider}, ${provider}]`].join('\n'),
    }).then(
      async (registry) => {
        await registry.stop();
        return '';
      },
      (error: Error) => error.message,
    );
    assert.match(failure, /provider name "corp" is used twice/);
  });
});
