// Follows each registry:2 tutorial of ../shared/seeds/ with Berth in place of registry:2: the
// steps of tutorials.ts, each translated command run with the real tools (podman, curl, htpasswd,
// openssl through bash) and the outcome the tutorial describes checked (catalog and tag list
// JSON, images pulled back identical, a failed pull before login, files in the data directory).
// Each step is a subtest named "original  =>  translation", so the run shows the mapping.
// podman cannot run containers in this sandbox (crun refuses: cgroups in hybrid mode), so a
// `docker run ... registry` becomes Berth's start command; test/container/image.test.ts proves
// the container image serves. See docs/migrating-from-distribution.md.
import assert from 'node:assert/strict';
import { access, readFile, rm, rmdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { ContainerClients } from '../helpers/clients.js';
import { freePort } from '../helpers/ports.js';
import { TutorialShell } from './shell.js';
import { type Expectation, type Step, type Tutorial, tutorials } from './tutorials.js';

const CERTS_D = '/etc/docker/certs.d';
/** ../shared/seeds beside the checkout (CI lays a copy there), if present. */
const seedsDir = await (async () => {
  const dir = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'seeds');
  return access(dir).then(
    () => dir,
    () => undefined,
  );
})();

/** The machine's port in place of the tutorial's 5000 (see tutorials.ts). */
function onPort(commandLine: string, port: number): string {
  return commandLine.replaceAll(':5000', `:${port}`);
}

function translationOf(step: Step): string {
  if ('run' in step) return step.run;
  if ('start' in step) return `${step.start} &`;
  if ('stop' in step) return `kill -${step.signal === 'SIGKILL' ? 'KILL' : 'TERM'} <${step.stop}>`;
  if ('fixture' in step) return `buildah: a local image named ${step.fixture}`;
  return `(instead: ${step.instead})`;
}

/** NAME[:TAG] as podman lists it: a short name lives under localhost/, the tag defaults to latest. */
function fullName(reference: string): string {
  const firstPart = reference.split('/')[0] ?? '';
  const qualified = reference.includes('/') && (firstPart.includes('.') || firstPart.includes(':') || firstPart === 'localhost');
  const named = qualified ? reference : `localhost/${reference}`;
  return /:[^/]+$/.test(named) ? named : `${named}:latest`;
}

class TutorialRun {
  /** Image IDs of the fixtures, by the name the tutorial uses. */
  private readonly fixtures = new Map<string, string>();

  constructor(
    private readonly clients: ContainerClients,
    private readonly shell: TutorialShell,
    private readonly port: number,
  ) {}

  async step(step: Step): Promise<void> {
    if ('run' in step) {
      const commandLine = onPort(step.run, this.port);
      const result = await this.shell.run(commandLine, step.stdin === undefined ? {} : { stdin: step.stdin });
      const shown = `${commandLine}\nexit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
      if (step.expect?.fails) assert.notEqual(result.code, 0, `expected a failure:\n${shown}`);
      else assert.equal(result.code, 0, shown);
      await this.check(step.expect, result.stdout, shown);
    } else if ('start' in step) {
      await this.shell.start(step.name, onPort(step.start, this.port));
    } else if ('stop' in step) {
      await this.shell.stop(step.stop, step.signal);
    } else if ('fixture' in step) {
      await this.fixture(step.fixture);
    }
  }

  private async fixture(name: string): Promise<void> {
    const reference = name.includes(':') ? name : `${name}:latest`;
    const known = this.fixtures.get(name);
    if (known !== undefined && (await this.shell.run(`podman image exists ${known}`)).code === 0) {
      const tagged = await this.shell.run(`podman tag ${known} localhost/${reference}`);
      assert.equal(tagged.code, 0, tagged.stderr);
      return;
    }
    // localhost/NAME is what podman finds for the short name NAME with no search registries.
    const built = await this.clients.buildImage({ name: `localhost/${reference}`, layers: [[512, 64 * 1024]] });
    this.fixtures.set(name, built.id);
  }

  private async imageId(reference: string): Promise<string | undefined> {
    const result = await this.shell.run(`podman image inspect --format '{{.Id}}' ${reference}`);
    return result.code === 0 ? result.stdout.trim() : undefined;
  }

  private async check(expect: Expectation | undefined, stdout: string, shown: string): Promise<void> {
    if (expect === undefined) return;
    if (expect.json !== undefined) assert.deepEqual(JSON.parse(stdout), expect.json, shown);
    for (const text of expect.stdoutIncludes ?? []) assert.ok(stdout.includes(onPort(text, this.port)), `no "${text}" in:\n${shown}`);
    if (expect.sameImageAs !== undefined) {
      const wanted = this.fixtures.get(expect.sameImageAs.fixture);
      assert.ok(wanted, `no fixture ${expect.sameImageAs.fixture}`);
      assert.equal(
        await this.imageId(onPort(expect.sameImageAs.image, this.port)),
        wanted,
        `${expect.sameImageAs.image} is not the pushed image`,
      );
    }
    if (expect.imageGone !== undefined) {
      // By its full name in the listing: for a short name, podman's own lookup also matches
      // HOST/NAME images, which Docker would not call by that name.
      const listing = await this.shell.run(`podman images --format '{{.Repository}}:{{.Tag}}'`);
      const names = listing.stdout.split('\n').map((line) => line.trim());
      assert.ok(!names.includes(fullName(onPort(expect.imageGone, this.port))), `${expect.imageGone} still exists:\n${listing.stdout}`);
    }
    for (const path of expect.paths ?? []) await access(join(this.shell.cwd, path));
  }
}

for (const tutorial of tutorials) describeTutorial(tutorial);

function describeTutorial(tutorial: Tutorial): void {
  describe(`seed ${tutorial.seed}: ${tutorial.title}`, { timeout: 600_000 }, () => {
    let clients: ContainerClients;
    let shell: TutorialShell;
    let port: number;
    let run: TutorialRun;
    const createdCertDirs: string[] = [];
    let certsDirExisted = true;

    before(async () => {
      clients = await ContainerClients.create();
      shell = await TutorialShell.create(clients);
      port = await freePort();
      run = new TutorialRun(clients, shell, port);
      certsDirExisted = await access(CERTS_D).then(
        () => true,
        () => false,
      );
    });

    after(async () => {
      await shell?.cleanup();
      await clients?.cleanup();
      // Only what this tutorial's certs.d steps made, named by its own port.
      for (const dir of createdCertDirs) await rm(dir, { recursive: true, force: true });
      // And /etc/docker/certs.d itself if the tutorial's `mkdir -p` made it and it is empty now.
      if (createdCertDirs.length > 0 && !certsDirExisted) await rmdir(CERTS_D).catch(() => undefined);
    });

    it('quotes the tutorial as written', { skip: seedsDir === undefined ? 'no ../shared/seeds' : false }, async () => {
      // Continuation lines joined and runs of spaces collapsed, as a shell reads them.
      const normalise = (text: string): string => text.replace(/\\\n/g, ' ').replace(/\s+/g, ' ').trim();
      const seed = normalise(await readFile(join(seedsDir ?? '', tutorial.seed), 'utf8'));
      for (const section of tutorial.sections) {
        for (const step of section.steps) {
          if (!step.original.startsWith('('))
            assert.ok(seed.includes(normalise(step.original)), `not in ${tutorial.seed}: ${step.original}`);
        }
      }
    });

    for (const section of tutorial.sections) {
      // The TLS sections write /etc/docker/certs.d as the tutorial does: root only (CI runs as root).
      const needsRoot = section.steps.some((step) => 'run' in step && step.run.includes(CERTS_D));
      const skip = needsRoot && process.getuid?.() !== 0 ? 'writes /etc/docker/certs.d: needs root' : false;
      it(section.title, { skip }, async (t: TestContext) => {
        await shell.trustPlainHttp(section.plainHttp ? [`localhost:${port}`, `127.0.0.1:${port}`] : []);
        for (const step of section.steps) {
          if ('run' in step && step.run.includes(CERTS_D)) createdCertDirs.push(join(CERTS_D, `127.0.0.1:${port}`));
          const name = `${step.original}  =>  ${onPort(translationOf(step), port)}`;
          await t.test(name, async () => run.step(step));
        }
      });
    }
  });
}
