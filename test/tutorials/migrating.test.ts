// A newcomer with a registry:2 volume follows docs/migrating-from-distribution.md: the test
// fills a data directory with Distribution itself (Debian's docker-registry, started as the
// registry:2 image starts it: its config.yml with REGISTRY_* overrides), pushes images of several
// kinds, stops it, then runs the first command block of the page's "Moving your images" as it is
// written (the directory and port put in) and pulls every old image from Berth: same manifest
// digests, same image IDs, same tags, the same catalog.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ContainerClients, dockerRef } from '../helpers/clients.js';
import { freePort } from '../helpers/ports.js';
import { TutorialShell } from './shell.js';

const projectRoot = resolve(import.meta.dirname, '..', '..');

/** The first ```sh block after "## Moving your images", one command per line, without comments. */
async function movingCommands(): Promise<string[]> {
  const page = await readFile(join(projectRoot, 'docs/migrating-from-distribution.md'), 'utf8');
  const section = page.slice(page.indexOf('## Moving your images'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, 'docs/migrating-from-distribution.md: no sh block under "## Moving your images"');
  return block.split('\n').filter((line) => line.trim() !== '' && !line.trim().startsWith('#'));
}

describe('moving a registry:2 volume as docs/migrating-from-distribution.md says', { timeout: 600_000 }, () => {
  let clients: ContainerClients;
  let shell: TutorialShell;
  let volume: string;
  const pushed = new Map<string, { digest: string; id: string }>();

  before(async () => {
    clients = await ContainerClients.create();
    shell = await TutorialShell.create(clients);
    volume = join(shell.cwd, 'registry-data');
  });

  after(async () => {
    await shell?.cleanup();
    await clients?.cleanup();
  });

  it('Distribution (registry:2) fills the volume', async () => {
    // registry:2's own config.yml, with its volume's directory and a loopback port put in.
    const port = await freePort();
    const config = (await readFile(join(projectRoot, 'examples/registry2-config.yml'), 'utf8'))
      .replace('rootdirectory: /var/lib/registry', `rootdirectory: ${volume}`)
      .replace('addr: :5000', `addr: 127.0.0.1:${port}`);
    assert.ok(config.includes(volume) && config.includes(`127.0.0.1:${port}`), config);
    await writeFile(join(shell.cwd, 'config.yml'), config);
    // Without podman's REGISTRY_AUTH_FILE (set in this shell): Distribution would read it as a
    // key auth.file and refuse to start ("cannot unmarshal !!str into configuration.Parameters").
    await shell.start('registry:2', 'env -u REGISTRY_AUTH_FILE docker-registry serve config.yml', /listening on/);
    const hostPort = `127.0.0.1:${port}`;
    const images = [
      { repo: 'library/hello-world', tag: 'latest', format: 'v2s2' as const },
      { repo: 'team/app', tag: '1.0', format: 'oci' as const },
      { repo: 'team/app', tag: '1.1', format: 'v2s2' as const },
    ];
    for (const [index, image] of images.entries()) {
      const built = await clients.buildImage({ name: `localhost/migrate/${index}:1`, layers: [[4096, 64 * 1024 + index]] });
      const copy = await clients.skopeoCopy(clients.storageRef(built.name), dockerRef(hostPort, image.repo, image.tag), {
        format: image.format,
      });
      pushed.set(`${image.repo}:${image.tag}`, { digest: copy.digest, id: built.id });
    }
    await shell.stop('registry:2');
  });

  it("the page's commands import the volume and serve it; every old image pulls from Berth unchanged", async () => {
    const port = await freePort();
    const commands = (await movingCommands()).map((line) =>
      line
        .replaceAll('/var/lib/registry', volume)
        .replaceAll('./bin/berth.js', 'berth')
        .replaceAll('REGISTRY_HTTP_ADDR=:5000', `REGISTRY_HTTP_ADDR=127.0.0.1:${port}`),
    );
    const serve = commands.findIndex((line) => / berth serve\b/.test(line));
    assert.ok(serve > 0, `no serve command after the import in ${JSON.stringify(commands)}`);
    for (const line of commands.slice(0, serve)) {
      const result = await shell.run(line, { timeoutMs: 300_000 });
      assert.equal(result.code, 0, `${line}\n${result.stdout}\n${result.stderr}`);
    }
    await shell.start('berth', commands[serve] ?? '');

    const hostPort = `127.0.0.1:${port}`;
    const catalog = (await (await fetch(`http://${hostPort}/v2/_catalog`)).json()) as { repositories: string[] };
    assert.deepEqual(catalog.repositories.sort(), ['library/hello-world', 'team/app']);
    assert.deepEqual(await clients.listTags(hostPort, 'team/app'), ['1.0', '1.1']);
    for (const [reference, old] of pushed) {
      const [repo, tag] = reference.split(':') as [string, string];
      assert.equal(await clients.manifestDigest(dockerRef(hostPort, repo, tag)), old.digest, `${reference}: manifest digest`);
      const copyBack = await clients.scratchDir('pulled');
      const pulled = await clients.skopeoCopy(dockerRef(hostPort, repo, tag), `dir:${copyBack}`);
      assert.equal(pulled.digest, old.digest, `${reference}: pulled digest`);
    }
    // And by podman, by name: the image ID (its config's digest) is the one pushed to registry:2.
    const hello = pushed.get('library/hello-world:latest');
    const pulledId = await clients.podmanPull(`${hostPort}/library/hello-world:latest`);
    assert.equal(pulledId, hello?.id);
  });
});
