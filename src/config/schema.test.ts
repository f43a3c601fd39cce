// Consistency tests for the schema itself: the key list, the env names derived from it, and the
// list of ignored Distribution keys.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { envVarName, primaryEnvVar, readEnvOverrides } from './env.js';
import { findNode, IGNORED_KEYS, listSettings } from './schema.js';

describe('schema', () => {
  it('has exactly these settings', () => {
    assert.deepEqual(
      listSettings().map((setting) => `${setting.key} (${setting.info.origin})`),
      [
        'version (distribution)',
        'log.level (distribution)',
        'log.accesslog.disabled (distribution)',
        'log.accesslog.format (berth)',
        'http.addr (distribution)',
        'http.host (distribution)',
        'http.secret (distribution)',
        'http.draintimeout (distribution)',
        'http.tls.certificate (distribution)',
        'http.tls.key (distribution)',
        'http.tls.clientcas (distribution)',
        'http.tls.minimumtls (distribution)',
        'http.http2.disabled (distribution)',
        'http.debug.addr (distribution)',
        'http.debug.prometheus.enabled (distribution)',
        'http.debug.prometheus.path (distribution)',
        'http.metrics.access (berth)',
        'auth.htpasswd.realm (distribution)',
        'auth.htpasswd.path (distribution)',
        'auth.token.realm (distribution)',
        'auth.token.service (distribution)',
        'auth.token.issuer (distribution)',
        'auth.token.rootcertbundle (distribution)',
        'auth.token.jwks (distribution)',
        'auth.ldap.url (berth)',
        'auth.ldap.starttls (berth)',
        'auth.ldap.cafile (berth)',
        'auth.ldap.timeout (berth)',
        'auth.ldap.binddn (berth)',
        'auth.ldap.bindpassword (berth)',
        'auth.ldap.basedn (berth)',
        'auth.ldap.userfilter (berth)',
        'auth.ldap.userdn (berth)',
        'auth.ldap.groupbasedn (berth)',
        'auth.ldap.groupfilter (berth)',
        'auth.ldap.groupnameattribute (berth)',
        'auth.ldap.memberofattribute (berth)',
        'auth.ldap.teams (berth)',
        'auth.ldap.samenameteams (berth)',
        'auth.ldap.cachettl (berth)',
        'auth.ldap.poolsize (berth)',
        'auth.clientcertificates.usernamefrom (berth)',
        'auth.clientcertificates.stripsuffix (berth)',
        'auth.oidc.providers (berth)',
        'auth.workloadidentity.issuers (berth)',
        'auth.tokenserver.enabled (berth)',
        'auth.tokenserver.realm (berth)',
        'auth.tokenserver.service (berth)',
        'auth.tokenserver.issuer (berth)',
        'auth.tokenserver.expiration (berth)',
        'auth.tokenserver.refreshexpiration (berth)',
        'auth.tokenserver.signingkey (berth)',
        'auth.openaccess (berth)',
        'auth.bcryptcost (berth)',
        'auth.credentialcache (berth)',
        'auth.ratelimit.attempts (berth)',
        'auth.ratelimit.window (berth)',
        'auth.access.admins (berth)',
        'auth.access.rules (berth)',
        'proxy.remoteurl (distribution)',
        'proxy.username (distribution)',
        'proxy.password (distribution)',
        'proxy.ttl (distribution)',
        'proxy.maxage (berth)',
        'proxy.maxsize (berth)',
        'proxy.upstreams (berth)',
        'storage.filesystem.rootdirectory (distribution)',
        'storage.s3.region (distribution)',
        'storage.s3.regionendpoint (distribution)',
        'storage.s3.bucket (distribution)',
        'storage.s3.rootdirectory (distribution)',
        'storage.s3.accesskey (distribution)',
        'storage.s3.secretkey (distribution)',
        'storage.s3.forcepathstyle (distribution)',
        'storage.s3.chunksize (distribution)',
        'storage.s3.encrypt (distribution)',
        'storage.redirect.disable (distribution)',
        'storage.delete.enabled (distribution)',
        'storage.maintenance.uploadpurging.enabled (distribution)',
        'storage.maintenance.uploadpurging.age (distribution)',
        'storage.maintenance.uploadpurging.interval (distribution)',
        'storage.maintenance.uploadpurging.dryrun (distribution)',
        'storage.maintenance.readonly.enabled (distribution)',
        'validation.manifests.indexes.platforms (distribution)',
        'validation.manifests.indexes.platformlist (distribution)',
        'metadata.sqlite.path (berth)',
        'metadata.postgres.url (berth)',
        'metadata.postgres.maxconnections (berth)',
        'metadata.postgres.statementtimeout (berth)',
        'limits.manifestmaxbytes (berth)',
        'limits.paginationmaxentries (berth)',
        'limits.catalogdefaultentries (berth)',
        'limits.maxtagsperpush (berth)',
        'limits.maxconcurrentrequests (berth)',
        'limits.idletimeout (berth)',
        'limits.headerstimeout (berth)',
        'limits.bodymemory (berth)',
        'limits.bodytimeout (berth)',
        'limits.bodyminrate (berth)',
        'immutability (berth)',
        'ratelimit.anonymouspulls.limit (berth)',
        'ratelimit.anonymouspulls.window (berth)',
        'ratelimit.signedinpulls.limit (berth)',
        'ratelimit.signedinpulls.window (berth)',
        'ratelimit.anonymousrequests.limit (berth)',
        'ratelimit.anonymousrequests.window (berth)',
        'ratelimit.signedinrequests.limit (berth)',
        'ratelimit.signedinrequests.window (berth)',
        'ratelimit.exemptusers (berth)',
        'ratelimit.exemptaddresses (berth)',
        'ratelimit.trustedproxies (berth)',
        'ratelimit.syncinterval (berth)',
        'gc.interval (berth)',
        'gc.grace (berth)',
        'gc.deleteuntagged (berth)',
        'gc.dryrun (berth)',
        'quotas (berth)',
        'retention.interval (berth)',
        'retention.dryrun (berth)',
        'retention.policies (berth)',
        'ui.enabled (berth)',
        'ui.path (berth)',
        'ui.sessionlifetime (berth)',
        'notifications.endpoints (distribution)',
        'notifications.events (distribution)',
        'notifications.retention (berth)',
        'notifications.blobpulls (berth)',
        'audit.enabled (berth)',
        'audit.retention (berth)',
        'audit.pulls (berth)',
      ],
    );
  });

  it('uses lower-case keys without separators, so env names map back unambiguously', () => {
    for (const setting of listSettings()) {
      for (const part of setting.path) assert.match(part, /^[a-z0-9]+$/, setting.key);
    }
  });

  it('derives env names from the schema, and both prefixes reach every setting', () => {
    assert.equal(primaryEnvVar(findSetting('http.addr')), 'REGISTRY_HTTP_ADDR');
    assert.equal(primaryEnvVar(findSetting('metadata.sqlite.path')), 'BERTH_METADATA_SQLITE_PATH');
    for (const setting of listSettings()) {
      for (const prefix of ['REGISTRY', 'BERTH'] as const) {
        const name = envVarName(prefix, setting.path);
        const result = readEnvOverrides({ [name]: 'x' });
        assert.deepEqual(result.issues, [], name);
        assert.equal(result.settings[0]?.setting.key, setting.key, name);
      }
    }
  });

  it('ignores only keys the schema does not have, below sections it does have', () => {
    for (const key of IGNORED_KEYS.keys()) {
      const parts = key.split('.');
      assert.equal(findNode(parts), undefined, `${key} is both ignored and implemented`);
      assert.equal(findNode(parts.slice(0, -1))?.type, 'section', `${key} must sit in a known section`);
    }
  });
});

function findSetting(key: string) {
  const setting = listSettings().find((candidate) => candidate.key === key);
  assert.ok(setting, key);
  return setting;
}
