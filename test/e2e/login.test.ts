// End to end, signed in: podman and skopeo log in to Berth over TLS with the dev certificate
// (--cert-dir, --tls-verify=true), in Basic mode (htpasswd) and in token mode (Berth's token
// server). A pusher pushes, a reader logs in and pulls the same digest, the reader's push is
// denied, a wrong password cannot log in, and an anonymous client cannot read the private
// repository.
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { writeDevCertificates } from '../../src/server/dev-cert.js';
import { ContainerClients, type BuiltImage } from '../helpers/clients.js';
import { startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';
import { stopRegistry } from './support.js';

const PUSHER = { user: 'alice', password: 'alice-password-1' };
const READER = { user: 'bob', password: 'bob-password-1' };

for (const mode of ['basic', 'token'] as const) {
  describe(`podman and skopeo log in over TLS (${mode} mode)`, {
    concurrency: false,
    skip: testTarget === 'reference' ? 'Berth-only' : false,
  }, () => {
    let registry: TestRegistry | undefined;
    let pusher: ContainerClients | undefined;
    let reader: ContainerClients | undefined;
    let image: BuiltImage;
    let dir: string;
    let certDir: string;
    let host = '';
    let pushedDigest = '';
    const tls = ['--tls-verify=true', '--cert-dir'];

    const env = (): { pusher: ContainerClients; reader: ContainerClients } => {
      assert.ok(pusher && reader, 'before() did not finish');
      return { pusher, reader };
    };

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), `berth-login-${mode}-`));
      const certs = await writeDevCertificates({ hosts: ['localhost'], outDir: join(dir, 'certs'), days: 2 });
      // What a user does: the CA goes into a directory named for the registry, as ca.crt.
      certDir = join(dir, 'trust');
      await mkdir(certDir);
      await copyFile(certs.caCert, join(certDir, 'ca.crt'));
      const htpasswd = join(dir, 'htpasswd');
      await writeFile(
        htpasswd,
        [PUSHER, READER].map(({ user, password }) => `${user}:${bcrypt.hashSync(password, 5).replace(/^\$2b\$/, '$2y$')}`).join('\n') +
          '\n',
      );
      registry = await startRegistry({
        tls: { certificate: certs.serverCert, key: certs.serverKey },
        extraConfig: [
          'auth:',
          `  htpasswd: {realm: "Berth test", path: ${JSON.stringify(htpasswd)}}`,
          ...(mode === 'token' ? ['  tokenserver: {enabled: true}'] : []),
          '  access:',
          '    rules:',
          '      - repository: "team/**"',
          `        users: {${PUSHER.user}: [pull, push], ${READER.user}: [pull]}`,
        ].join('\n'),
      });
      host = `localhost:${new URL(registry.url).port}`;
      pusher = await ContainerClients.create();
      reader = await ContainerClients.create();
      image = await pusher.buildImage({ name: `localhost/e2e/login-${mode}:1`, layers: [[4096, 70_000]] });
    });

    after(async () => {
      await Promise.allSettled([pusher?.cleanup(), reader?.cleanup()]);
      await stopRegistry(registry);
      await rm(dir, { recursive: true, force: true });
    });

    it('refuses a wrong password at login', async () => {
      await assert.rejects(
        env().pusher.podman(['login', ...tls, certDir, '-u', PUSHER.user, '-p', 'wrong-password', host]),
        (error: Error) => /invalid username\/password|unauthorized/i.test(error.message),
      );
    });

    it('logs in with podman and pushes', async () => {
      const { pusher } = env();
      const login = await pusher.podman(['login', ...tls, certDir, '-u', PUSHER.user, '-p', PUSHER.password, host]);
      assert.match(login.stdout, /Login Succeeded/);
      const digestFile = join(dir, `digest-${mode}`);
      await pusher.podman(['push', ...tls, certDir, '--digestfile', digestFile, image.name, `docker://${host}/team/app:1`]);
      pushedDigest = (await readFile(digestFile, 'utf8')).trim();
      assert.match(pushedDigest, /^sha256:[0-9a-f]{64}$/);
    });

    it('logs in with skopeo as a reader and pulls the same digest with skopeo and podman', async () => {
      const { reader } = env();
      assert.ok(pushedDigest, 'the push did not happen');
      const login = await reader.skopeo(['login', ...tls, certDir, '-u', READER.user, '-p', READER.password, host]);
      assert.match(login.stdout, /Login Succeeded/);
      const inspected = JSON.parse((await reader.skopeo(['inspect', ...tls, certDir, `docker://${host}/team/app:1`])).stdout) as {
        Digest: string;
      };
      assert.equal(inspected.Digest, pushedDigest);
      await reader.podman(['pull', '-q', ...tls, certDir, `${host}/team/app:1`]);
      const pulled = (await reader.podman(['image', 'inspect', '--format', '{{.Digest}}', `${host}/team/app:1`])).stdout.trim();
      assert.equal(pulled, pushedDigest);
    });

    it('denies the reader a push', async () => {
      const { reader } = env();
      await assert.rejects(reader.podman(['push', ...tls, certDir, `${host}/team/app:1`, `docker://${host}/team/copy:1`]), (error: Error) =>
        /denied|unauthorized|authentication required/i.test(error.message),
      );
    });

    it('lets no anonymous client read the private repository, and no client without the CA connect', async () => {
      const anonymous = await ContainerClients.create();
      try {
        await assert.rejects(anonymous.skopeo(['inspect', ...tls, certDir, `docker://${host}/team/app:1`]), (error: Error) =>
          /unauthorized|authentication required|denied/i.test(error.message),
        );
        await assert.rejects(anonymous.skopeo(['inspect', '--tls-verify=true', `docker://${host}/team/app:1`]), (error: Error) =>
          /certificate|x509|tls/i.test(error.message),
        );
      } finally {
        await anonymous.cleanup();
      }
    });
  });
}
