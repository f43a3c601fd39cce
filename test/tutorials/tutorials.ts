// The registry:2 tutorials of ../shared/seeds/ as data: each command line as the tutorial writes
// it, and its translation with Berth in place of `registry:2`. The translation rule (Berth issue
// 16): `docker` becomes `podman`, and a `docker run ... registry:2` becomes Berth's start command
// with the same environment variables, data path and port; everything else is kept as written.
// Where a step cannot work the same way, the step says what to do instead, as
// docs/migrating-from-distribution.md does. Every `original` is quoted from the seed as written
// (seeds.test.ts checks it), except those in parentheses, which name what a step stands for.
//
// Two things are the machine's, not the tutorial's, and the runner does them:
// - Port: every "5000" after a colon is replaced by a free loopback port, since several test
//   files run at once (`:5000` -> `:PORT`); `-p 5000:5000` publishes on every interface, so
//   Berth listens on 127.0.0.1 (tests use loopback only).
// - Plain HTTP: Docker talks plain HTTP to localhost and 127.0.0.0/8 by itself; podman needs
//   them marked insecure in registries.conf (a section's plainHttp). The TLS sections leave
//   that off, so podman must trust the tutorial's certificate through /etc/docker/certs.d.
//
// Images from Docker Hub (hello-world, nginx, my-app) cannot be pulled here: a `fixture` step
// builds a small image of that name with buildah instead, and checks compare against it.
//
// Not followed: the seeds' sections about Docker Hub, Nexus (another product) and Swarm (no
// swarm in podman; docs/scale-out.md is Berth's way to run several replicas).

export interface Expectation {
  /** The command must fail (a non-zero exit). */
  readonly fails?: boolean;
  /** stdout, parsed as JSON, equals this. */
  readonly json?: unknown;
  /** stdout contains each of these. */
  readonly stdoutIncludes?: readonly string[];
  /** The local image (a reference) is the fixture of that name, byte for byte (same image ID). */
  readonly sameImageAs?: { readonly image: string; readonly fixture: string };
  /** A local image by this name no longer exists. */
  readonly imageGone?: string;
  /** These paths (relative to the tutorial directory) exist. */
  readonly paths?: readonly string[];
}

export type Step =
  /** Run the translation through bash and check what the tutorial says happens. */
  | { readonly original: string; readonly run: string; readonly stdin?: string; readonly expect?: Expectation }
  /** Start Berth in the background (the `docker run -d ... registry` line); `name` is the container's. */
  | { readonly original: string; readonly start: string; readonly name: string }
  /** Stop the Berth started under that name (`docker kill` / `docker stop`). */
  | { readonly original: string; readonly stop: string; readonly signal: 'SIGTERM' | 'SIGKILL' }
  /** An image the tutorial pulls from Docker Hub: built locally under this name instead. */
  | { readonly original: string; readonly fixture: string }
  /** No command does the same here; what to do instead. */
  | { readonly original: string; readonly instead: string };

export interface Section {
  readonly title: string;
  /** Mark localhost:PORT and 127.0.0.1:PORT as plain-HTTP registries for podman (see above). */
  readonly plainHttp: boolean;
  readonly steps: readonly Step[];
}

export interface Tutorial {
  /** The seed file, in ../shared/seeds/. */
  readonly seed: string;
  readonly title: string;
  readonly sections: readonly Section[];
}

const NO_CONTAINER = 'Berth runs as a process (or under systemd), not as a container here';

export const tutorials: readonly Tutorial[] = [
  {
    seed: '000_07cc350f180afc30.txt',
    title: 'Registry and Repository: registry image setup',
    sections: [
      {
        title: 'registry image setup',
        plainHttp: true,
        steps: [
          { original: 'docker pull registry:3', instead: 'nothing to pull: Berth is installed with npm (README.md)' },
          { original: 'mkdir docker-registry', run: 'mkdir docker-registry' },
          {
            original:
              'docker run -d -p 5000:5000 --restart=always --name my-docker-registry -v docker-registry:/var/lib/registry registry:3',
            name: 'my-docker-registry',
            start: 'REGISTRY_HTTP_ADDR=127.0.0.1:5000 REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=docker-registry berth serve',
          },
          {
            original: 'http://localhost:5000/v2/_catalog',
            run: 'curl -s http://localhost:5000/v2/_catalog',
            expect: { json: { repositories: [] } },
          },
          { original: '(hello-world, from Docker Hub)', fixture: 'hello-world' },
          {
            original: 'docker tag hello-world localhost:5000/my-hello-world:v1',
            run: 'podman tag hello-world localhost:5000/my-hello-world:v1',
          },
          { original: 'docker push localhost:5000/my-hello-world:v1', run: 'podman push localhost:5000/my-hello-world:v1' },
          {
            original: 'docker rmi localhost:5000/my-hello-world:v1',
            run: 'podman rmi localhost:5000/my-hello-world:v1',
            expect: { imageGone: 'localhost:5000/my-hello-world:v1' },
          },
          {
            original: 'reload the http://localhost:5000/v2/_catalog address',
            run: 'curl -s http://localhost:5000/v2/_catalog',
            expect: { json: { repositories: ['my-hello-world'] } },
          },
          {
            original: 'docker pull localhost:5000/my-hello-world:v1',
            run: 'podman pull localhost:5000/my-hello-world:v1',
            expect: { sameImageAs: { image: 'localhost:5000/my-hello-world:v1', fixture: 'hello-world' } },
          },
          { original: '"insecure-registries" : [ "your_server_address:5000" ]', instead: 'see plainHttp' },
        ],
      },
    ],
  },
  {
    seed: '001_6e11ab9e59ff8506.txt',
    title: 'Docker Registry: setting up a private Docker registry',
    sections: [
      {
        title: "Using Docker's open-source registry",
        plainHttp: true,
        steps: [
          {
            original: 'docker run -d -p 5000:5000 --name private-registry registry:2',
            name: 'private-registry',
            // No -v: registry:2 keeps the data in the container; Berth in ./data, its default.
            start: 'REGISTRY_HTTP_ADDR=127.0.0.1:5000 berth serve',
          },
          { original: '(my-app:1.0, built earlier)', fixture: 'my-app:1.0' },
          { original: 'docker tag my-app:1.0 localhost:5000/my-app:1.0', run: 'podman tag my-app:1.0 localhost:5000/my-app:1.0' },
          { original: 'docker push localhost:5000/my-app:1.0', run: 'podman push localhost:5000/my-app:1.0' },
          {
            original: '(a fresh machine has only what it pulls)',
            run: 'podman rmi localhost:5000/my-app:1.0',
            expect: { imageGone: 'localhost:5000/my-app:1.0' },
          },
          {
            original: 'docker pull localhost:5000/my-app:1.0',
            run: 'podman pull localhost:5000/my-app:1.0',
            expect: { sameImageAs: { image: 'localhost:5000/my-app:1.0', fixture: 'my-app:1.0' } },
          },
          { original: 'docker images', run: 'podman images', expect: { stdoutIncludes: ['localhost:5000/my-app', '1.0'] } },
        ],
      },
    ],
  },
  {
    seed: '003_8a589a69af09b9a7.txt',
    title: 'Docker Registry: self hosted registry',
    sections: [
      {
        title: 'Self Hosted Registry',
        plainHttp: true,
        steps: [
          {
            original: 'docker run -d -p 5000:5000 --name registry registry:latest',
            name: 'registry',
            start: 'REGISTRY_HTTP_ADDR=127.0.0.1:5000 berth serve',
          },
          { original: 'docker pull nginx', fixture: 'nginx' },
          { original: 'docker image tag nginx localhost:5000/nginx:v1', run: 'podman image tag nginx localhost:5000/nginx:v1' },
          { original: 'docker images', run: 'podman images', expect: { stdoutIncludes: ['localhost:5000/nginx', 'v1'] } },
          { original: 'docker push localhost:5000/nginx:v1', run: 'podman push localhost:5000/nginx:v1' },
          {
            original: 'curl -X GET http://localhost:5000/v2/_catalog',
            run: 'curl -X GET http://localhost:5000/v2/_catalog',
            expect: { json: { repositories: ['nginx'] } },
          },
          {
            original: 'curl http://localhost:5000/v2/nginx/tags/list',
            run: 'curl http://localhost:5000/v2/nginx/tags/list',
            expect: { json: { name: 'nginx', tags: ['v1'] } },
          },
          { original: '"insecure-registries": ["<IP ADDRESS>:5000"]', instead: 'see plainHttp' },
          // The engine's restart stops the registry container; `docker start` brings it back.
          { original: 'sudo systemctl restart docker', stop: 'registry', signal: 'SIGTERM' },
          { original: 'docker ps', instead: NO_CONTAINER },
          { original: 'docker start registry', name: 'registry', start: 'REGISTRY_HTTP_ADDR=127.0.0.1:5000 berth serve' },
          {
            original: '(after restart the registry still holds the image)',
            run: 'curl http://localhost:5000/v2/nginx/tags/list',
            expect: { json: { name: 'nginx', tags: ['v1'] } },
          },
        ],
      },
    ],
  },
  {
    seed: '004_97edf61b69e6e9be.txt',
    title: 'Container Registries: Docker Registry, TLS and authentication',
    sections: [
      {
        title: 'running a private registry',
        plainHttp: true,
        steps: [
          {
            // The tutorial's image name is misspelled (`registery`); it means registry.
            original: 'docker container run --name registery -d -p 5000:5000  registery',
            name: 'registery',
            start: 'REGISTRY_HTTP_ADDR=127.0.0.1:5000 berth serve',
          },
          { original: 'docker container ls', run: 'curl -fsS http://127.0.0.1:5000/readyz', expect: { stdoutIncludes: ['ok'] } },
          { original: 'docker image pull hello-world', fixture: 'hello-world' },
          {
            original: 'docker container run --rm hello-world',
            instead: 'runs the hello-world image, not the registry; podman cannot run containers in this sandbox',
          },
          {
            original: 'docker image tag hello-world 127.0.0.1:5000/hello-world',
            run: 'podman image tag hello-world 127.0.0.1:5000/hello-world',
          },
          { original: 'docker image ls', run: 'podman image ls', expect: { stdoutIncludes: ['127.0.0.1:5000/hello-world'] } },
          { original: 'docker image push 127.0.0.1:5000/hello-world', run: 'podman image push 127.0.0.1:5000/hello-world' },
          // podman 4.3 (Debian 12) has no `image remove` alias: `image rm` is the same command.
          { original: 'docker image remove hello-world', run: 'podman image rm hello-world', expect: { imageGone: 'hello-world' } },
          {
            original: 'docker image remove 127.0.0.1:5000/hello-world',
            run: 'podman image rm 127.0.0.1:5000/hello-world',
            expect: { imageGone: '127.0.0.1:5000/hello-world' },
          },
          {
            original: 'docker image pull 127.0.0.1:5000/hello-world:latest',
            run: 'podman image pull 127.0.0.1:5000/hello-world:latest',
            expect: { sameImageAs: { image: '127.0.0.1:5000/hello-world:latest', fixture: 'hello-world' } },
          },
          { original: 'docker container kill registery', stop: 'registery', signal: 'SIGKILL' },
          { original: 'docker container rm registery', instead: NO_CONTAINER },
        ],
      },
      {
        title: 'the same, with a bind mount',
        plainHttp: true,
        steps: [
          {
            // As written, `-p --rm 5000:5000` does not parse and the volume's target is misspelled
            // (/var/lib/registery, so registry:2 would not write there); what it means: the
            // registry keeps its data in ./registery-data.
            // biome-ignore lint/suspicious/noTemplateCurlyInString: the tutorial's own text
            original: 'docker container run --name registery -d -p --rm 5000:5000 -v${pwd}/registery-data:/var/lib/registery registery',
            name: 'registery',
            start: 'REGISTRY_HTTP_ADDR=127.0.0.1:5000 REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=$(pwd)/registery-data berth serve',
          },
          { original: 'ls registery-data #show files, OS command', run: 'ls registery-data' },
          { original: 'docker image ls', run: 'podman image ls', expect: { stdoutIncludes: ['127.0.0.1:5000/hello-world'] } },
          { original: 'docker push 127.0.0.1:5000/hello-world', run: 'podman push 127.0.0.1:5000/hello-world' },
          {
            original: 'ls registery-data #show files, OS command',
            run: 'ls registery-data',
            expect: { stdoutIncludes: ['blobs', 'berth.db'] },
          },
          {
            // tree is not installed here; find lists the same.
            original: 'tree registery-data #Linux command',
            run: 'find registery-data -type f',
            expect: { stdoutIncludes: ['registery-data/blobs/'] },
          },
          { original: '(end of the exercise)', stop: 'registery', signal: 'SIGTERM' },
        ],
      },
      {
        title: 'Part 2: a registry with a self-signed TLS certificate',
        plainHttp: false,
        steps: [
          { original: "mkdir -p certs #create if doesn't exist", run: 'mkdir -p certs' },
          {
            // The form's answers go in -subj; clients (Go's and Docker's) need the address in the
            // certificate's subjectAltName, not only in its CN.
            original: 'openssl req -newkey rsa:4096 -nodes -sha256 -keyout certs/domain.key -x509 -days 365 -out certs/domain.crt',
            run: 'openssl req -newkey rsa:4096 -nodes -sha256 -keyout certs/domain.key -x509 -days 365 -out certs/domain.crt -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1',
            expect: { paths: ['certs/domain.key', 'certs/domain.crt'] },
          },
          // podman reads /etc/docker/certs.d as Docker does (and /etc/containers/certs.d).
          { original: 'mkdir /etc/docker/certs.d', run: 'mkdir -p /etc/docker/certs.d' },
          { original: 'mkdir /etc/docker/certs.d/127.0.0.1:5000', run: 'mkdir /etc/docker/certs.d/127.0.0.1:5000' },
          {
            original: 'cp $(pwd)/certs/domain.crt /etc/docker/certs.d/127.0.0.1:5000/ca.crt #copy with differnt name',
            run: 'cp $(pwd)/certs/domain.crt /etc/docker/certs.d/127.0.0.1:5000/ca.crt',
          },
          {
            original: 'diff certs/domain.crt /etc/docker/certs/127.0.0.1:5000/ca.crt #check that files are the same',
            run: 'diff certs/domain.crt /etc/docker/certs.d/127.0.0.1:5000/ca.crt',
          },
          { original: 'pkill dockerd', instead: 'podman has no daemon: it reads certs.d on every command' },
          { original: 'dockerd > /dev/null 2>&1 &', instead: 'podman has no daemon' },
          { original: 'mkdir registry-data', run: 'mkdir registry-data' },
          {
            original:
              'docker continaer run -d -p 5000:5000 --name registry --restart unless-stopped -v $(pwd)/registry-data:/var/lib/registry -v $(pwd)/certs:/certs -e REGISTRY_HTTP_TLS_CERTIFICATE=/certs/domain.crt -e REGISTRY_HTTP_TLS_KEY=/certs/domain.key registry',
            name: 'registry',
            // The container's /certs and /var/lib/registry are the mounted host directories.
            start:
              'REGISTRY_HTTP_ADDR=127.0.0.1:5000 REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=$(pwd)/registry-data REGISTRY_HTTP_TLS_CERTIFICATE=$(pwd)/certs/domain.crt REGISTRY_HTTP_TLS_KEY=$(pwd)/certs/domain.key berth serve',
          },
          {
            original: 'docker container ls',
            run: 'curl -fsS --cacert certs/domain.crt https://127.0.0.1:5000/readyz',
            expect: { stdoutIncludes: ['ok'] },
          },
          { original: 'docker image pull hello-world', fixture: 'hello-world' },
          {
            original: 'docker image tag hello-world 127.0.0.1:5000/hello-world',
            run: 'podman image tag hello-world 127.0.0.1:5000/hello-world',
          },
          { original: 'docker image push 127.0.0.1:5000/hello-world', run: 'podman image push 127.0.0.1:5000/hello-world' },
          {
            original: '(so that the pull below fetches)',
            run: 'podman image rm 127.0.0.1:5000/hello-world',
            expect: { imageGone: '127.0.0.1:5000/hello-world' },
          },
          {
            original: 'docker image pull 127.0.0.1:5000/hello-world',
            run: 'podman image pull 127.0.0.1:5000/hello-world',
            expect: { sameImageAs: { image: '127.0.0.1:5000/hello-world', fixture: 'hello-world' } },
          },
        ],
      },
      {
        title: 'Part 3: an authenticated secure registry',
        plainHttp: false,
        steps: [
          { original: 'mkdir auth', run: 'mkdir auth' },
          {
            // registry:2.6 shipped htpasswd; Debian ships it in apache2-utils.
            original: 'docker container run --entrypoint htpasswd --rm registry:2.6 -Bbn moby gordon > auth/htpasswd',
            run: 'htpasswd -Bbn moby gordon > auth/htpasswd',
          },
          { original: 'cat auth/htpasswd', run: 'cat auth/htpasswd', expect: { stdoutIncludes: ['moby:$2y$'] } },
          { original: 'docker kill registry', stop: 'registry', signal: 'SIGKILL' },
          { original: 'docker rm registry', instead: NO_CONTAINER },
          {
            original:
              'docker container run -d -p 5000:5000 --name registry --restart unless-stopped -v $(pwd)/registry-data:/var/lib/registry -v $(pwd)/certs:/certs -v $(pwd)/auth:/auth -e REGISTRY_HTTP_TLS_CERTIFICATE=/certs/domain.crt -e REGISTRY_HTTP_TLS_KEY=/certs/domain.key -e REGISTRY_AUTH=htpasswd -e "REGISTRY_AUTH_HTPASSWD_REALM=Registry Realm" -e "REGISTRY_AUTH_HTPASSWD_PATH=/auth/htpasswd" registry:2.6',
            name: 'registry',
            start:
              'REGISTRY_HTTP_ADDR=127.0.0.1:5000 REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=$(pwd)/registry-data REGISTRY_HTTP_TLS_CERTIFICATE=$(pwd)/certs/domain.crt REGISTRY_HTTP_TLS_KEY=$(pwd)/certs/domain.key REGISTRY_AUTH=htpasswd REGISTRY_AUTH_HTPASSWD_REALM="Registry Realm" REGISTRY_AUTH_HTPASSWD_PATH=$(pwd)/auth/htpasswd berth serve',
          },
          {
            original: 'docker container ls',
            run: 'curl -fsS --cacert certs/domain.crt https://127.0.0.1:5000/readyz',
            expect: { stdoutIncludes: ['ok'] },
          },
          {
            original: '(so that the pull below fetches)',
            run: 'podman image rm 127.0.0.1:5000/hello-world',
            expect: { imageGone: '127.0.0.1:5000/hello-world' },
          },
          {
            // `docker imgae` (sic) is `docker image`.
            original: 'docker imgae pull 127.0.0.1:5000/hello-world #this should fail',
            run: 'podman image pull 127.0.0.1:5000/hello-world',
            expect: { fails: true },
          },
          {
            // The tutorial types the user and password at the prompts; podman reads the password
            // from standard input when there is no terminal.
            original: 'docker login 127.0.0.1:5000 # user moby, password gordon',
            run: 'podman login --username moby --password-stdin 127.0.0.1:5000',
            stdin: 'gordon\n',
            expect: { stdoutIncludes: ['Login Succeeded'] },
          },
          {
            original: 'docker imgae pull 127.0.0.1:5000/hello-world #now this works',
            run: 'podman image pull 127.0.0.1:5000/hello-world',
            expect: { sameImageAs: { image: '127.0.0.1:5000/hello-world', fixture: 'hello-world' } },
          },
        ],
      },
    ],
  },
];
