// Real clients against Berth signing people in through a directory and machines through client
// certificates, over TLS (the dev certificate, --cert-dir): podman logs in as an LDAP user whose
// directory group maps to a team with push rights, pushes, and pulls back the same digest; a
// machine whose client certificate (CN = an existing Berth user) sits in --cert-dir pulls with
// skopeo and podman without any password; a certificate from another CA, or none, gets 401; a
// password still works next to the certificates.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { createCertificateAuthority, issueCertificate, writeDevCertificates, type KeyAndCertificate } from '../../src/server/dev-cert.js';
import { ContainerClients, type BuiltImage } from '../helpers/clients.js';
import { basicAuthorization } from '../helpers/credentials.js';
import { startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';
import { GROUPS_DN, ldapConfigLines, startSlapd, type Slapd } from '../helpers/slapd.js';

const ALICE = { uid: 'alice', password: 'alice-directory-pw' };
const ROOT = { user: 'root', password: 'root-local-password' };
/** The machine: a Berth user (htpasswd) whose certificate's CN names it. */
const MACHINE = { user: 'ci-1', password: 'machine-password-never-used' };

describe('podman with an LDAP user, and machines with client certificates', {
  concurrency: false,
  skip: testTarget === 'reference' ? 'Berth-only' : false,
}, () => {
  let dir = '';
  let slapd: Slapd | undefined;
  let registry: TestRegistry | undefined;
  let person: ContainerClients | undefined;
  let machine: ContainerClients | undefined;
  let image: BuiltImage;
  let serverCa = '';
  let host = '';
  let pushedDigest = '';
  /** --cert-dir folders: the registry's CA only, plus a good client certificate, plus another CA's. */
  const certDirs = { caOnly: '', client: '', stranger: '' };

  const admin = async (method: string, path: string, body: unknown): Promise<number> => {
    assert.ok(registry);
    const url = new URL(path, registry.url);
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          ca: serverCa,
          headers: { authorization: basicAuthorization(ROOT.user, ROOT.password), 'content-type': 'application/json' },
        },
        (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
  };

  const certDir = async (name: string, client: KeyAndCertificate | undefined): Promise<string> => {
    const folder = join(dir, name);
    await mkdir(folder);
    await writeFile(join(folder, 'ca.crt'), serverCa);
    if (client !== undefined) {
      await writeFile(join(folder, 'client.cert'), client.cert);
      await writeFile(join(folder, 'client.key'), client.key, { mode: 0o600 });
    }
    return folder;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-directory-clients-'));
    const certs = await writeDevCertificates({ hosts: ['localhost'], outDir: join(dir, 'certs'), days: 2 });
    serverCa = await readFile(certs.caCert, 'utf8');
    const machineCa = createCertificateAuthority({ days: 2, commonName: 'machines CA' });
    const machineCaFile = join(dir, 'machines-ca.crt');
    await writeFile(machineCaFile, machineCa.cert);
    certDirs.caOnly = await certDir('ca-only', undefined);
    certDirs.client = await certDir('client', issueCertificate(machineCa, { hosts: [MACHINE.user], days: 2, usage: 'client' }));
    certDirs.stranger = await certDir(
      'stranger',
      issueCertificate(createCertificateAuthority({ days: 2 }), { hosts: [MACHINE.user], days: 2, usage: 'client' }),
    );

    slapd = await startSlapd({ users: [ALICE], groups: { developers: [ALICE.uid] } });
    const htpasswd = join(dir, 'htpasswd');
    await writeFile(
      htpasswd,
      [ROOT, MACHINE].map(({ user, password }) => `${user}:${bcrypt.hashSync(password, 5).replace(/^\$2b\$/, '$2y$')}`).join('\n') + '\n',
    );
    registry = await startRegistry({
      tls: { certificate: certs.serverCert, key: certs.serverKey, clientcas: [machineCaFile] },
      extraConfig: [
        'auth:',
        `  htpasswd: {realm: "Berth test", path: ${JSON.stringify(htpasswd)}}`,
        ...ldapConfigLines(slapd.url, [`groupbasedn: "${GROUPS_DN}"`, 'groupfilter: "(member={dn})"', 'teams: {developers: dev}']),
        '  clientcertificates: {usernamefrom: cn}',
        '  access:',
        `    admins: [${ROOT.user}]`,
        '    rules: []',
      ].join('\n'),
    });
    host = `localhost:${new URL(registry.url).port}`;
    assert.equal(await admin('POST', '/api/v1/teams', { name: 'dev' }), 201);
    assert.equal(await admin('PUT', '/api/v1/namespaces/dev/grants/team/dev', { role: 'push' }), 200);
    assert.equal(await admin('PUT', `/api/v1/namespaces/dev/grants/user/${MACHINE.user}`, { role: 'pull' }), 200);
    person = await ContainerClients.create();
    machine = await ContainerClients.create();
    image = await person.buildImage({ name: 'localhost/e2e/directory:1', layers: [[4096, 70_000]] });
  });

  after(async () => {
    await Promise.allSettled([person?.cleanup(), machine?.cleanup()]);
    await registry?.stop();
    await slapd?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  const tls = (folder: string): string[] => ['--tls-verify=true', '--cert-dir', folder];

  it('logs an LDAP user in with podman, who pushes through the team the directory group maps to', async () => {
    assert.ok(person);
    await assert.rejects(person.podman(['login', ...tls(certDirs.caOnly), '-u', ALICE.uid, '-p', 'wrong-password', host]), (error: Error) =>
      /invalid username\/password|unauthorized/i.test(error.message),
    );
    const login = await person.podman(['login', ...tls(certDirs.caOnly), '-u', ALICE.uid, '-p', ALICE.password, host]);
    assert.match(login.stdout, /Login Succeeded/);
    const digestFile = join(dir, 'digest');
    await person.podman(['push', ...tls(certDirs.caOnly), '--digestfile', digestFile, image.name, `docker://${host}/dev/app:1`]);
    pushedDigest = (await readFile(digestFile, 'utf8')).trim();
    assert.match(pushedDigest, /^sha256:[0-9a-f]{64}$/);
    await person.podman(['rmi', image.name]);
    await person.podman(['pull', '-q', ...tls(certDirs.caOnly), `${host}/dev/app:1`]);
    const pulled = (await person.podman(['image', 'inspect', '--format', '{{.Digest}}', `${host}/dev/app:1`])).stdout.trim();
    assert.equal(pulled, pushedDigest);
  });

  it('lets a machine pull with its client certificate and no password (skopeo and podman)', async () => {
    assert.ok(machine && pushedDigest, 'the push did not happen');
    const inspected = JSON.parse((await machine.skopeo(['inspect', ...tls(certDirs.client), `docker://${host}/dev/app:1`])).stdout) as {
      Digest: string;
    };
    assert.equal(inspected.Digest, pushedDigest);
    await machine.podman(['pull', '-q', ...tls(certDirs.client), `${host}/dev/app:1`]);
    const pulled = (await machine.podman(['image', 'inspect', '--format', '{{.Digest}}', `${host}/dev/app:1`])).stdout.trim();
    assert.equal(pulled, pushedDigest);
    // Pull only: the certificate's user has no push right.
    await assert.rejects(
      machine.skopeo([
        'copy',
        '--src-tls-verify=true',
        '--src-cert-dir',
        certDirs.client,
        '--dest-cert-dir',
        certDirs.client,
        `docker://${host}/dev/app:1`,
        `docker://${host}/dev/copy:1`,
      ]),
      (error: Error) => /denied|unauthorized|authentication required/i.test(error.message),
    );
  });

  it('answers 401 to a certificate of another CA and to no certificate', async () => {
    assert.ok(machine);
    for (const folder of [certDirs.stranger, certDirs.caOnly]) {
      await assert.rejects(
        machine.skopeo(['inspect', ...tls(folder), `docker://${host}/dev/app:1`]),
        (error: Error) => /unauthorized|authentication required/i.test(error.message),
        folder,
      );
    }
  });
});
