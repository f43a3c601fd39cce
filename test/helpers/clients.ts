// Typed wrappers that run the real container clients (buildah, skopeo, podman from Debian
// packages) as child processes for end-to-end tests. Each ContainerClients owns one temporary
// directory holding its image storage (vfs driver: overlay does not work in this environment),
// its own HOME/XDG directories and configuration (registries.conf, policy.json, containers.conf,
// storage.conf, registries.d, an empty auth file), so a test run neither reads nor writes the
// user's container state. Exception: as root, containers/image keeps its blob-info cache in
// /var/lib/containers/cache and offers no flag to move it; it is only a cache of "where was this
// blob seen", and the clients verify every hint against the registry.
// Also: helpers to build small random images from scratch, compute manifest digests, and read
// files back out of pulled images (podman image mount, or a dir: copy whose layers are untarred).
import { execFile, type ExecFileException } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Per-command time limit; the slowest real command (a 2 MiB push) takes well under a second. */
const DEFAULT_TIMEOUT_MS = 120_000;
/** How much of stderr/stdout a thrown error quotes (debug output can be long). */
const ERROR_TAIL_CHARS = 6_000;

export interface CommandResult {
  readonly stdout: string;
  /** stdout exactly as written (manifests must be hashed byte for byte). */
  readonly stdoutBytes: Buffer;
  readonly stderr: string;
}

export interface RunOptions {
  readonly timeoutMs?: number;
  readonly cwd?: string;
}

/** A client command that failed, timed out or could not start; carries its output. */
export class ClientCommandError extends Error {
  readonly command: string;
  readonly exitCode: number | string | null;
  readonly stdout: string;
  readonly stderr: string;

  constructor(command: string, exitCode: number | string | null, stdout: string, stderr: string, reason: string) {
    super(`${command}\n  ${reason}\n--- stderr (tail) ---\n${tail(stderr)}\n--- stdout (tail) ---\n${tail(stdout)}`);
    this.name = 'ClientCommandError';
    this.command = command;
    this.exitCode = exitCode;
    this.stdout = stdout;
    this.stderr = stderr;
  }
}

function tail(text: string): string {
  return text.length > ERROR_TAIL_CHARS ? `...${text.slice(-ERROR_TAIL_CHARS)}` : text;
}

/** Runs a program without a shell; rejects with ClientCommandError on a non-zero exit or timeout. */
export function runCommand(
  file: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  options: RunOptions = {},
): Promise<CommandResult> {
  const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const command = [file, ...args].join(' ');
  return new Promise((resolveRun, reject) => {
    execFile(
      file,
      [...args],
      {
        env,
        timeout,
        killSignal: 'SIGKILL',
        maxBuffer: 256 * 1024 * 1024,
        encoding: 'buffer',
        ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      },
      (error: ExecFileException | null, stdout: Buffer, stderr: Buffer) => {
        const out = stdout.toString('utf8');
        const err = stderr.toString('utf8');
        if (error) {
          // error.code is the exit status, or an errno string (ENOENT) when the program did not start.
          const code: unknown = error.code;
          const reason = error.killed
            ? `timed out after ${timeout} ms (killed)`
            : typeof code === 'number'
              ? `failed: exit code ${code}`
              : `could not run: ${error.message}`;
          reject(new ClientCommandError(command, error.code ?? null, out, err, reason));
          return;
        }
        resolveRun({ stdout: out, stdoutBytes: stdout, stderr: err });
      },
    );
  });
}

/** "sha256:<hex>" of the given bytes. */
export function sha256Digest(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The hex part of "sha256:<hex>". */
export function digestHex(digest: string): string {
  const match = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!match?.[1]) throw new Error(`not a sha256 digest: ${digest}`);
  return match[1];
}

// ---------------------------------------------------------------------------------------------
// Manifests (just enough structure for the tests, validated rather than cast)

export interface Platform {
  readonly architecture: string;
  readonly os: string;
  readonly variant?: string;
}

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly platform?: Platform;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface ImageManifest {
  readonly kind: 'manifest';
  readonly mediaType: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
}

export interface ImageIndex {
  readonly kind: 'index';
  readonly mediaType: string;
  readonly manifests: readonly Descriptor[];
}

const INDEX_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function toDescriptor(value: unknown, where: string): Descriptor {
  if (!isRecord(value)) throw new Error(`${where}: not an object`);
  const { mediaType, digest, size, platform, annotations } = value;
  if (typeof mediaType !== 'string' || typeof digest !== 'string' || typeof size !== 'number') {
    throw new Error(`${where}: descriptor needs mediaType, digest and size`);
  }
  let descriptor: Descriptor = { mediaType, digest, size };
  if (platform !== undefined) {
    if (!isRecord(platform) || typeof platform.architecture !== 'string' || typeof platform.os !== 'string') {
      throw new Error(`${where}: bad platform`);
    }
    const base = { architecture: platform.architecture, os: platform.os };
    descriptor = {
      ...descriptor,
      platform: typeof platform.variant === 'string' ? { ...base, variant: platform.variant } : base,
    };
  }
  if (isRecord(annotations)) {
    const strings = Object.entries(annotations).filter((entry): entry is [string, string] => typeof entry[1] === 'string');
    descriptor = { ...descriptor, annotations: Object.fromEntries(strings) };
  }
  return descriptor;
}

/** Parses an image manifest or an index / manifest list (OCI or Docker schema 2). */
export function parseManifest(bytes: Uint8Array | string): ImageManifest | ImageIndex {
  const text = typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8');
  const value: unknown = JSON.parse(text);
  if (!isRecord(value) || value.schemaVersion !== 2) throw new Error('not a schema 2 manifest');
  const declared = typeof value.mediaType === 'string' ? value.mediaType : '';
  if (Array.isArray(value.manifests) || INDEX_TYPES.has(declared)) {
    const manifests = Array.isArray(value.manifests) ? value.manifests : [];
    return {
      kind: 'index',
      mediaType: declared || 'application/vnd.oci.image.index.v1+json',
      manifests: manifests.map((entry, i) => toDescriptor(entry, `manifests[${i}]`)),
    };
  }
  if (!Array.isArray(value.layers)) throw new Error('manifest has no layers array');
  return {
    kind: 'manifest',
    mediaType: declared || 'application/vnd.oci.image.manifest.v1+json',
    config: toDescriptor(value.config, 'config'),
    layers: value.layers.map((entry, i) => toDescriptor(entry, `layers[${i}]`)),
  };
}

export function parseImageManifest(bytes: Uint8Array | string): ImageManifest {
  const parsed = parseManifest(bytes);
  if (parsed.kind !== 'manifest') throw new Error(`expected an image manifest, got ${parsed.mediaType}`);
  return parsed;
}

export function parseImageIndex(bytes: Uint8Array | string): ImageIndex {
  const parsed = parseManifest(bytes);
  if (parsed.kind !== 'index') throw new Error(`expected an index, got ${parsed.mediaType}`);
  return parsed;
}

// ---------------------------------------------------------------------------------------------
// Images built for a test

export interface ImageFile {
  /** Absolute path inside the image. */
  readonly path: string;
  readonly content: Buffer;
}

export interface BuildOptions {
  /** Local name to commit as, e.g. "localhost/e2e/app:1". */
  readonly name: string;
  readonly arch?: string;
  readonly os?: string;
  readonly variant?: string;
  /**
   * Sizes in bytes of the random files, one array per layer (each layer is one commit).
   * Default: two layers, [[64, 4 KiB], [16 KiB, 1 MiB]].
   */
  readonly layers?: readonly (readonly number[])[];
  readonly labels?: Readonly<Record<string, string>>;
}

export interface BuiltImage {
  readonly name: string;
  /** The image ID (config digest hex) buildah printed. */
  readonly id: string;
  readonly arch: string;
  readonly os: string;
  /** Every file the build added, in layer order; the last layer also holds /e2e/platform.txt. */
  readonly files: readonly ImageFile[];
  /** A random token also stored as the label "berth.e2e.token" and inside /e2e/platform.txt. */
  readonly token: string;
}

const DEFAULT_LAYERS: readonly (readonly number[])[] = [
  [64, 4 * 1024],
  [16 * 1024, 1024 * 1024],
];

export interface CopyOptions {
  /** --format: manifest type at the destination. */
  readonly format?: 'oci' | 'v2s2';
  readonly preserveDigests?: boolean;
  /** --all: copy every image of a list. */
  readonly all?: boolean;
  /** Global --override-arch / --override-os: which instance of a list to copy. */
  readonly overrideArch?: string;
  readonly overrideOs?: string;
  /** Global --debug: the returned output then lists every HTTP request the client made. */
  readonly debug?: boolean;
}

export interface CopyResult {
  /** Digest of the manifest written at the destination (--digestfile). */
  readonly digest: string;
  /** stdout + stderr (with debug, includes the request log). */
  readonly output: string;
}

export interface PushResult {
  readonly digest: string;
  readonly output: string;
}

/** A docker:// reference to a registry image: "docker://host:port/repo:tag" (or "@digest"). */
export function dockerRef(hostPort: string, repo: string, reference: string): string {
  const separator = reference.startsWith('sha256:') ? '@' : ':';
  return `docker://${hostPort}/${repo}${separator}${reference}`;
}

// ---------------------------------------------------------------------------------------------
// The isolated client environment

export class ContainerClients {
  /** The temporary directory holding everything below. */
  readonly dir: string;
  /** containers-storage graph root and run root (vfs). */
  readonly root: string;
  readonly runroot: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly policyFile: string;
  private readonly registriesConf: string;
  private readonly registriesD: string;
  private readonly tmp: string;
  private readonly libpodTmp: string;
  private readonly work: string;
  private readonly timeoutMs: number;
  private scratchCounter = 0;

  private constructor(dir: string, timeoutMs: number) {
    this.dir = dir;
    this.timeoutMs = timeoutMs;
    this.root = join(dir, 'storage', 'root');
    this.runroot = join(dir, 'storage', 'runroot');
    this.tmp = join(dir, 'tmp');
    this.libpodTmp = join(dir, 'libpod');
    this.work = join(dir, 'work');
    const home = join(dir, 'home');
    const config = join(home, '.config');
    const containersConfig = join(config, 'containers');
    this.policyFile = join(containersConfig, 'policy.json');
    this.registriesConf = join(containersConfig, 'registries.conf');
    this.registriesD = join(containersConfig, 'registries.d');
    // Only what the tools need; nothing inherited that could point at global state
    // (DOCKER_CONFIG, REGISTRY_AUTH_FILE, CONTAINERS_*, XDG_* of the caller).
    this.env = {
      PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      LANG: 'C.UTF-8',
      HOME: home,
      XDG_CONFIG_HOME: config,
      XDG_DATA_HOME: join(home, '.local', 'share'),
      XDG_CACHE_HOME: join(home, '.cache'),
      XDG_RUNTIME_DIR: join(dir, 'runtime'),
      TMPDIR: this.tmp,
      CONTAINERS_CONF: join(containersConfig, 'containers.conf'),
      CONTAINERS_REGISTRIES_CONF: this.registriesConf,
      CONTAINERS_STORAGE_CONF: join(containersConfig, 'storage.conf'),
      REGISTRY_AUTH_FILE: join(containersConfig, 'auth.json'),
      STORAGE_DRIVER: 'vfs',
      BUILDAH_ISOLATION: 'chroot',
    };
  }

  /** Creates the temporary directory and writes the isolated configuration. */
  static async create(options: { readonly timeoutMs?: number } = {}): Promise<ContainerClients> {
    const dir = await mkdtemp(join(tmpdir(), 'berth-e2e-clients-'));
    const clients = new ContainerClients(dir, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    await clients.writeConfiguration();
    return clients;
  }

  private async writeConfiguration(): Promise<void> {
    const env = this.env;
    const dirs = [
      this.root,
      this.runroot,
      this.tmp,
      this.libpodTmp,
      this.work,
      this.registriesD,
      env.XDG_DATA_HOME,
      env.XDG_CACHE_HOME,
      env.XDG_RUNTIME_DIR,
      join(this.dir, 'volumes'),
      join(this.dir, 'networks'),
    ];
    for (const path of dirs) if (path) await mkdir(path, { recursive: true, mode: 0o700 });
    const containersConfig = dirname(this.policyFile);
    await writeFile(this.policyFile, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    // No search registries: every reference in the tests is fully qualified. Loopback
    // registries are plain HTTP; the commands also pass --tls-verify=false explicitly.
    await writeFile(
      this.registriesConf,
      ['unqualified-search-registries = []', '', '[[registry]]', 'location = "127.0.0.1"', 'insecure = true', ''].join('\n'),
    );
    await writeFile(
      join(containersConfig, 'storage.conf'),
      ['[storage]', 'driver = "vfs"', `graphroot = ${JSON.stringify(this.root)}`, `runroot = ${JSON.stringify(this.runroot)}`, ''].join(
        '\n',
      ),
    );
    await writeFile(
      join(containersConfig, 'containers.conf'),
      [
        '[containers]',
        'netns = "none"',
        '',
        '[network]',
        `network_config_dir = ${JSON.stringify(join(this.dir, 'networks'))}`,
        '',
        '[engine]',
        'events_logger = "none"',
        'cgroup_manager = "cgroupfs"',
        `tmp_dir = ${JSON.stringify(this.libpodTmp)}`,
        `volume_path = ${JSON.stringify(join(this.dir, 'volumes'))}`,
        '',
      ].join('\n'),
    );
    await writeFile(join(containersConfig, 'auth.json'), '{"auths":{}}\n');
  }

  /** A fresh empty directory under this environment's work area. */
  async scratchDir(label = 'scratch'): Promise<string> {
    this.scratchCounter += 1;
    const path = join(this.work, `${label}-${this.scratchCounter}`);
    await mkdir(path, { recursive: true });
    return path;
  }

  /** A containers-storage: reference into this environment's own storage. */
  storageRef(image: string): string {
    return `containers-storage:[vfs@${this.root}+${this.runroot}]${image}`;
  }

  private storageFlags(): string[] {
    return ['--root', this.root, '--runroot', this.runroot, '--storage-driver', 'vfs'];
  }

  private options(options: RunOptions): RunOptions {
    return { timeoutMs: this.timeoutMs, ...options };
  }

  buildah(args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    return runCommand(
      'buildah',
      [...this.storageFlags(), '--registries-conf', this.registriesConf, ...args],
      this.env,
      this.options(options),
    );
  }

  podman(args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    return runCommand(
      'podman',
      [
        ...this.storageFlags(),
        '--tmpdir',
        this.libpodTmp,
        '--events-backend',
        'none',
        '--cgroup-manager',
        'cgroupfs',
        '--network-config-dir',
        join(this.dir, 'networks'),
        '--volumepath',
        join(this.dir, 'volumes'),
        ...args,
      ],
      this.env,
      this.options(options),
    );
  }

  /** skopeo with this environment's policy, registries.d and temp dir; globalArgs go before the subcommand. */
  skopeo(args: readonly string[], options: RunOptions & { readonly globalArgs?: readonly string[] } = {}): Promise<CommandResult> {
    const { globalArgs = [], ...runOptions } = options;
    return runCommand(
      'skopeo',
      ['--policy', this.policyFile, '--registries.d', this.registriesD, '--tmpdir', this.tmp, ...globalArgs, ...args],
      this.env,
      this.options(runOptions),
    );
  }

  // -------------------------------------------------------------------------------------------
  // Building

  /**
   * Builds an image from scratch in this environment's storage: one `buildah from` / `add` /
   * `commit` round per layer with random file contents (so digests differ per run), then
   * `buildah config` (arch, os, env, labels, cmd) before the last commit.
   */
  async buildImage(options: BuildOptions): Promise<BuiltImage> {
    const arch = options.arch ?? 'amd64';
    const os = options.os ?? 'linux';
    const layers = options.layers ?? DEFAULT_LAYERS;
    if (layers.length === 0) throw new Error('buildImage needs at least one layer');
    const token = randomBytes(8).toString('hex');
    const staging = await this.scratchDir('build');
    const files: ImageFile[] = [];
    let base = 'scratch';
    let id = '';
    for (const [layerIndex, sizes] of layers.entries()) {
      const last = layerIndex === layers.length - 1;
      const layerDir = join(staging, `layer-${layerIndex}`);
      const layerFiles: ImageFile[] = sizes.map((size, fileIndex) => ({
        path: `/e2e/layer-${layerIndex}/file-${fileIndex}.bin`,
        content: randomBytes(size),
      }));
      if (last) {
        layerFiles.push({ path: '/e2e/platform.txt', content: Buffer.from(`${os}/${arch} ${token}\n`) });
      }
      for (const file of layerFiles) {
        const target = join(layerDir, file.path);
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, file.content);
      }
      await mkdir(layerDir, { recursive: true });
      files.push(...layerFiles);

      const fromArgs = base === 'scratch' ? ['from', '--arch', arch, '--os', os, 'scratch'] : ['from', base];
      const container = lastLine((await this.buildah(fromArgs)).stdout);
      // Adding a directory copies its contents: the layer gets /e2e/... as laid out above.
      await this.buildah(['add', container, layerDir, '/']);
      if (last) {
        const configArgs = [
          'config',
          '--arch',
          arch,
          '--os',
          os,
          ...(options.variant === undefined ? [] : ['--variant', options.variant]),
          '--env',
          'BERTH_E2E=1',
          '--label',
          `berth.e2e.token=${token}`,
          ...Object.entries(options.labels ?? {}).flatMap(([key, value]) => ['--label', `${key}=${value}`]),
          '--cmd',
          '["/e2e/app"]',
          container,
        ];
        await this.buildah(configArgs);
      }
      const commitArgs = ['commit', '--rm', '-q', container, ...(last ? [options.name] : [])];
      id = lastLine((await this.buildah(commitArgs)).stdout);
      base = id;
    }
    return { name: options.name, id, arch, os, files, token };
  }

  // -------------------------------------------------------------------------------------------
  // Registry operations (all over plain HTTP)

  /** buildah push of a local image to "host:port/repo:tag"; returns the pushed manifest digest. */
  async buildahPush(image: string, destination: string, options: { readonly format?: 'oci' | 'docker' } = {}): Promise<PushResult> {
    const digestFile = join(await this.scratchDir('digest'), 'digest');
    const result = await this.buildah([
      'push',
      '--tls-verify=false',
      '--digestfile',
      digestFile,
      ...(options.format === undefined ? [] : ['--format', options.format]),
      image,
      `docker://${destination}`,
    ]);
    return { digest: (await readFile(digestFile, 'utf8')).trim(), output: result.stdout + result.stderr };
  }

  /** buildah manifest push --all of a local list to "host:port/repo:tag"; returns the list digest. */
  async buildahManifestPush(list: string, destination: string, options: { readonly format?: 'oci' | 'v2s2' } = {}): Promise<PushResult> {
    const digestFile = join(await this.scratchDir('digest'), 'digest');
    const result = await this.buildah([
      'manifest',
      'push',
      '--all',
      '--tls-verify=false',
      '--digestfile',
      digestFile,
      ...(options.format === undefined ? [] : ['--format', options.format]),
      list,
      `docker://${destination}`,
    ]);
    return { digest: (await readFile(digestFile, 'utf8')).trim(), output: result.stdout + result.stderr };
  }

  /** skopeo copy between two transport references (docker://, oci:, dir:, containers-storage:). */
  async skopeoCopy(source: string, destination: string, options: CopyOptions = {}): Promise<CopyResult> {
    const digestFile = join(await this.scratchDir('digest'), 'digest');
    const globalArgs = [
      ...(options.debug ? ['--debug'] : []),
      ...(options.overrideArch === undefined ? [] : ['--override-arch', options.overrideArch]),
      ...(options.overrideOs === undefined ? [] : ['--override-os', options.overrideOs]),
    ];
    const args = [
      'copy',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      '--digestfile',
      digestFile,
      ...(options.format === undefined ? [] : ['--format', options.format]),
      ...(options.preserveDigests ? ['--preserve-digests'] : []),
      ...(options.all ? ['--all'] : []),
      source,
      destination,
    ];
    const result = await this.skopeo(args, { globalArgs });
    return { digest: (await readFile(digestFile, 'utf8')).trim(), output: result.stdout + result.stderr };
  }

  /** The manifest exactly as the registry serves it (`skopeo inspect --raw`). */
  async rawManifest(reference: string): Promise<Buffer> {
    return (await this.skopeo(['inspect', '--raw', '--tls-verify=false', reference])).stdoutBytes;
  }

  /** sha256 of the raw manifest bytes: the manifest digest as the registry stores it. */
  async manifestDigest(reference: string): Promise<string> {
    return sha256Digest(await this.rawManifest(reference));
  }

  /** The "Digest" that `skopeo inspect` reports (for a single-image manifest). */
  async inspectDigest(reference: string): Promise<string> {
    const value: unknown = JSON.parse((await this.skopeo(['inspect', '--tls-verify=false', reference])).stdout);
    if (!isRecord(value) || typeof value.Digest !== 'string') throw new Error('skopeo inspect printed no Digest');
    return value.Digest;
  }

  /** `skopeo list-tags docker://host:port/repo`, sorted. */
  async listTags(hostPort: string, repo: string): Promise<string[]> {
    const output = await this.skopeo(['list-tags', '--tls-verify=false', `docker://${hostPort}/${repo}`]);
    const value: unknown = JSON.parse(output.stdout);
    if (!isRecord(value) || !Array.isArray(value.Tags)) throw new Error('skopeo list-tags printed no Tags');
    return value.Tags.map(String).sort();
  }

  /** podman pull of "host:port/repo:tag" into this environment's storage; returns the image ID. */
  async podmanPull(reference: string, options: { readonly arch?: string; readonly os?: string } = {}): Promise<string> {
    const result = await this.podman([
      'pull',
      '-q',
      '--tls-verify=false',
      ...(options.arch === undefined ? [] : ['--arch', options.arch]),
      ...(options.os === undefined ? [] : ['--os', options.os]),
      reference,
    ]);
    return lastLine(result.stdout);
  }

  /** Reads files (absolute paths) from an image in this environment's storage via `podman image mount`. */
  async readImageFiles(image: string, paths: readonly string[]): Promise<Map<string, Buffer>> {
    const mountPoint = lastLine((await this.podman(['image', 'mount', image])).stdout);
    try {
      const files = new Map<string, Buffer>();
      for (const path of paths) files.set(path, await readFile(join(mountPoint, path)));
      return files;
    } finally {
      await this.podman(['image', 'unmount', image]);
    }
  }

  /** Removes containers and the temporary directory (storage, configuration, work files). */
  async cleanup(): Promise<void> {
    // vfs has no kernel mounts, but leave nothing behind that could hold the tree.
    await this.podman(['image', 'unmount', '--all', '--force']).catch(() => undefined);
    await this.podman(['rm', '--all', '--force']).catch(() => undefined);
    await this.buildah(['rm', '--all']).catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true, maxRetries: 3 });
  }
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  const line = lines[lines.length - 1]?.trim() ?? '';
  if (!line) throw new Error('command printed nothing');
  return line;
}

// ---------------------------------------------------------------------------------------------
// dir: layouts (what `skopeo copy ... dir:PATH` writes: manifest.json plus blobs named by hex)

export interface DirImage {
  readonly manifestBytes: Buffer;
  readonly manifest: ImageManifest;
  readonly configBytes: Buffer;
  /** Layer blobs in manifest order, exactly as downloaded. */
  readonly layers: readonly { readonly digest: string; readonly bytes: Buffer }[];
}

/** Reads a single-image dir: layout back, checking every blob against its digest. */
export async function readDirImage(path: string): Promise<DirImage> {
  const manifestBytes = await readFile(join(path, 'manifest.json'));
  const manifest = parseImageManifest(manifestBytes);
  const blob = async (digest: string): Promise<Buffer> => {
    const bytes = await readFile(join(path, digestHex(digest)));
    const actual = sha256Digest(bytes);
    if (actual !== digest) throw new Error(`blob ${digest} in ${path} hashes to ${actual}`);
    return bytes;
  };
  const configBytes = await blob(manifest.config.digest);
  const layers = [];
  for (const layer of manifest.layers) layers.push({ digest: layer.digest, bytes: await blob(layer.digest) });
  return { manifestBytes, manifest, configBytes, layers };
}

/**
 * Unpacks the layers of a dir: layout, in order, into `destination` (GNU tar detects gzip by
 * itself), and returns the requested files. Whiteouts are not interpreted: test images have none.
 */
export async function readDirImageFiles(path: string, destination: string, files: readonly string[]): Promise<Map<string, Buffer>> {
  const image = await readDirImage(path);
  await mkdir(destination, { recursive: true });
  for (const layer of image.layers) {
    await runCommand('tar', ['-x', '-f', join(path, digestHex(layer.digest)), '-C', destination, '--no-same-owner'], {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
    });
  }
  const result = new Map<string, Buffer>();
  for (const file of files) result.set(file, await readFile(join(destination, file)));
  return result;
}
