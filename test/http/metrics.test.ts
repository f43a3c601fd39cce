// Metrics and access logs (issue 17, point 5) against a real server: /metrics in Prometheus's
// text format that `promtool check metrics` accepts, counters that move by exactly the requests
// made, labels that never carry a repository name or digest, the debug address
// (http.debug.addr), /metrics behind authentication (http.metrics.access), and access-log
// lines in JSON and in Apache's combined format that never carry a credential. Berth-only.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { callRegistry } from '../helpers/call.js';
import { basicAuthorization } from '../helpers/credentials.js';
import { startRegistry, testTarget, type TestRegistry } from '../helpers/registry.js';
import { MEDIA, ociManifest, pushBlob, pushImageBlobs, randomBlob, sha256, startUpload, uniqueRepo } from './support.js';

const skip = testTarget === 'reference' && 'Berth metrics and logs';

/** One sample of the exposition: name, labels, value. */
interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Parses Prometheus's text format (the sample lines; comments are skipped). */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const label of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[label[1] as string] = (label[2] as string).replace(/\\(.)/g, (_, char: string) => (char === 'n' ? '\n' : char));
    }
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the one sample with this name whose labels include `labels`; 0 when there is none yet. */
function sampleValue(samples: readonly Sample[], name: string, labels: Readonly<Record<string, string>> = {}): number {
  const found = samples.filter(
    (sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
  assert.ok(found.length <= 1, `${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value ?? 0;
}

async function scrape(url: string, authorization?: string): Promise<{ text: string; samples: Sample[] }> {
  const response = await fetch(url, authorization === undefined ? {} : { headers: { authorization } });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return { text, samples: parseExposition(text) };
}

/** Pushes a small image (config, one layer, manifest by tag); returns the manifest's digest and its layer. */
async function pushImage(url: string, repo: string, tag = 'latest'): Promise<{ digest: string; layer: { digest: string; size: number } }> {
  const { config, layers } = await pushImageBlobs(url, repo, 'oci');
  const manifest = ociManifest(config, layers);
  const response = await fetch(`${url}/v2/${repo}/manifests/${tag}`, {
    method: 'PUT',
    headers: { 'content-type': MEDIA.ociManifest },
    body: manifest.bytes,
  });
  assert.equal(response.status, 201, await response.text());
  return { digest: manifest.digest, layer: layers[0] as { digest: string; size: number } };
}

/** The JSON log lines the registry printed. */
function logLines(registry: TestRegistry): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  for (const line of registry.output().split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a line cut by the chunking of stderr
    }
  }
  return lines;
}

/** Waits until `check` holds for the registry's output (log lines are written after the answer). */
async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`never happened: ${what}`);
}

describe('metrics of an open registry', { skip }, () => {
  let registry: TestRegistry;

  before(async () => {
    registry = await startRegistry();
  });
  after(() => registry?.stop());

  it('passes promtool check metrics', async () => {
    // Something in every family first, so that the check sees histograms and labelled counters.
    const repo = uniqueRepo('promtool');
    await pushImage(registry.url, repo);
    await fetch(`${registry.url}/v2/${repo}/tags/list`).then((response) => response.arrayBuffer());
    const { text } = await scrape(`${registry.url}/metrics`);
    for (const name of [
      'berth_http_requests_total',
      'berth_http_request_duration_seconds_bucket',
      'berth_http_request_bytes_total',
      'berth_http_response_bytes_total',
      'berth_storage_operation_duration_seconds_count',
      'berth_database_query_duration_seconds_count',
      'berth_uploads_in_progress',
      'berth_gc_runs_in_progress',
      'berth_gc_freed_bytes_total',
      'berth_auth_attempts_total',
      'berth_request_memory_bytes',
      'process_cpu_seconds_total',
      'nodejs_eventloop_lag_seconds',
    ]) {
      assert.match(text, new RegExp(`^${name}[{ ]`, 'm'), `/metrics has no ${name}`);
    }
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(check.error, undefined, 'promtool could not be run (Debian package prometheus)');
    assert.equal(check.status, 0, `promtool check metrics:\n${check.stdout}${check.stderr}`);
  });

  it('counts each request by route, method and status, with its duration and bytes', async () => {
    const repo = uniqueRepo('counted');
    const { digest, layer } = await pushImage(registry.url, repo);
    const before = (await scrape(`${registry.url}/metrics`)).samples;

    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${registry.url}/v2/${repo}/manifests/latest`, { headers: { accept: MEDIA.ociManifest } });
      assert.equal(response.status, 200);
      await response.arrayBuffer();
    }
    for (let i = 0; i < 2; i++) {
      const response = await fetch(`${registry.url}/v2/${repo}/blobs/${layer.digest}`);
      assert.equal(Buffer.from(await response.arrayBuffer()).length, layer.size);
    }
    assert.equal((await fetch(`${registry.url}/v2/${repo}/blobs/${layer.digest}`, { method: 'HEAD' })).status, 200);
    assert.equal((await fetch(`${registry.url}/v2/${repo}/manifests/nope`)).status, 404);
    const pushed = randomBlob(5000);
    await pushBlob(registry.url, repo, pushed);

    const after = (await scrape(`${registry.url}/metrics`)).samples;
    const moved = (name: string, labels: Record<string, string>): number =>
      sampleValue(after, name, labels) - sampleValue(before, name, labels);
    assert.equal(moved('berth_http_requests_total', { route: 'manifest', method: 'GET', status: '200' }), 3);
    assert.equal(moved('berth_http_requests_total', { route: 'manifest', method: 'GET', status: '404' }), 1);
    assert.equal(moved('berth_http_requests_total', { route: 'blob', method: 'GET', status: '200' }), 2);
    assert.equal(moved('berth_http_requests_total', { route: 'blob', method: 'HEAD', status: '200' }), 1);
    assert.equal(moved('berth_http_requests_total', { route: 'blob-upload', method: 'POST', status: '202' }), 1);
    assert.equal(moved('berth_http_requests_total', { route: 'blob-upload-session', method: 'PUT', status: '201' }), 1);
    // The scrape before this one was counted too, under its own route.
    assert.equal(moved('berth_http_requests_total', { route: 'metrics', method: 'GET', status: '200' }), 1);

    assert.equal(moved('berth_http_request_duration_seconds_count', { route: 'manifest', method: 'GET' }), 4);
    assert.equal(moved('berth_http_request_duration_seconds_bucket', { route: 'manifest', method: 'GET', le: '+Inf' }), 4);
    assert.ok(moved('berth_http_request_duration_seconds_sum', { route: 'manifest', method: 'GET' }) > 0);
    // Buckets are cumulative: each is at least the one before it.
    const buckets = after.filter(
      (sample) =>
        sample.name === 'berth_http_request_duration_seconds_bucket' &&
        sample.labels.route === 'manifest' &&
        sample.labels.method === 'GET',
    );
    for (let i = 1; i < buckets.length; i++) assert.ok((buckets[i] as Sample).value >= (buckets[i - 1] as Sample).value);

    assert.equal(moved('berth_http_response_bytes_total', { route: 'blob' }), 2 * layer.size);
    assert.equal(moved('berth_http_request_bytes_total', { route: 'blob-upload-session' }), pushed.length);
    assert.ok(moved('berth_http_response_bytes_total', { route: 'manifest' }) > 0);

    assert.ok(moved('berth_storage_operation_duration_seconds_count', { driver: 'filesystem', operation: 'writer' }) >= 1);
    assert.ok(moved('berth_storage_operation_duration_seconds_count', { driver: 'filesystem', operation: 'commit' }) >= 1);
    assert.ok(moved('berth_database_query_duration_seconds_count', { database: 'sqlite', operation: 'select' }) >= 1);
    assert.ok(digest.startsWith('sha256:'));
  });

  it('counts open upload sessions', async () => {
    const repo = uniqueRepo('sessions');
    const gauge = async (): Promise<number> => sampleValue((await scrape(`${registry.url}/metrics`)).samples, 'berth_uploads_in_progress');
    const before = await gauge();
    const first = await startUpload(registry.url, repo);
    await startUpload(registry.url, repo);
    assert.equal(await gauge(), before + 2);
    assert.equal((await fetch(first, { method: 'DELETE' })).status, 204);
    assert.equal(await gauge(), before + 1);
  });

  it('never uses a repository name, tag or digest as a label value', async () => {
    const names = Array.from({ length: 50 }, (_, i) => `${uniqueRepo('cardinality')}-${i}`);
    const digests: string[] = [];
    for (const name of names) {
      const { digest, layer } = await pushImage(registry.url, name, `tag-${name.slice(-6)}`);
      digests.push(digest, layer.digest);
      await fetch(`${registry.url}/v2/${name}/manifests/${digest}`, { method: 'HEAD' });
      await fetch(`${registry.url}/v2/${name}/tags/list`).then((response) => response.arrayBuffer());
    }
    const { samples } = await scrape(`${registry.url}/metrics`);
    const values = new Set(samples.flatMap((sample) => Object.values(sample.labels)));
    for (const value of values) {
      assert.ok(!value.includes('cardinality') && !value.includes('sha256') && !value.includes('tag-'), `label value ${value}`);
    }
    for (const name of names) assert.ok(!values.has(name));
    // A handful of routes, methods and statuses: far fewer series than the 50 repositories pushed.
    const requestSeries = samples.filter((sample) => sample.name === 'berth_http_requests_total');
    assert.ok(requestSeries.length < 30, `${requestSeries.length} request series`);
    assert.ok(new Set(requestSeries.map((sample) => sample.labels.route)).size <= 12);
  });

  it('writes one JSON access-log line per request, without credentials or unknown query values', async () => {
    const repo = uniqueRepo('logged');
    await pushImage(registry.url, repo);
    const secret = 's3cr3t-in-the-url';
    const response = await fetch(`${registry.url}/v2/${repo}/tags/list?n=5&access_token=${secret}`, {
      headers: { authorization: basicAuthorization('someone', 'hunter2-password'), 'user-agent': 'metrics-test/1.0' },
    });
    assert.equal(response.status, 200);
    const requestId = response.headers.get('x-request-id');
    await response.arrayBuffer();
    await eventually(() => logLines(registry).some((line) => line.reqId === requestId && line.msg === 'request'), 'the access-log line');
    const lines = logLines(registry).filter((line) => line.reqId === requestId && line.msg === 'request');
    assert.equal(lines.length, 1);
    const line = lines[0] as Record<string, unknown>;
    assert.equal(line.method, 'GET');
    assert.equal(line.url, `/v2/${repo}/tags/list?n=5&access_token=REDACTED`);
    assert.equal(line.route, 'tags');
    assert.equal(line.status, 200);
    assert.equal(typeof line.bytes, 'number');
    assert.ok((line.bytes as number) > 0);
    assert.equal(typeof line.ms, 'number');
    assert.equal(line.client, '127.0.0.1');
    assert.equal(line.userAgent, 'metrics-test/1.0');
    // Authentication is off: nobody signed in, whatever the header said.
    assert.equal(line.user, undefined);
    const output = registry.output();
    assert.ok(!output.includes(secret), 'a query token reached the log');
    assert.ok(!output.includes('hunter2-password'), 'a password reached the log');
    assert.ok(!output.includes(Buffer.from('someone:hunter2-password').toString('base64')), 'an Authorization header reached the log');
  });
});

describe('metrics on http.debug.addr, and not on the registry address', { skip }, () => {
  let registry: TestRegistry;

  before(async () => {
    registry = await startRegistry({
      env: {
        REGISTRY_HTTP_DEBUG_ADDR: '127.0.0.1:0',
        REGISTRY_HTTP_DEBUG_PROMETHEUS_ENABLED: 'true',
        REGISTRY_HTTP_DEBUG_PROMETHEUS_PATH: '/debug/metrics',
        BERTH_HTTP_METRICS_ACCESS: 'disabled',
      },
    });
  });
  after(() => registry?.stop());

  it('serves the metrics at the debug path, and counts the registry API there', async () => {
    const listening = logLines(registry).find((line) => line.msg === 'listening');
    const debugUrl = listening?.debugMetrics;
    assert.equal(typeof debugUrl, 'string', 'the listening line names the debug metrics URL');
    assert.match(debugUrl as string, /^http:\/\/127\.0\.0\.1:\d+\/debug\/metrics$/);
    assert.notEqual(new URL(debugUrl as string).port, new URL(registry.url).port);

    const before = (await scrape(debugUrl as string)).samples;
    const repo = uniqueRepo('debug');
    await pushImage(registry.url, repo);
    await fetch(`${registry.url}/v2/${repo}/manifests/latest`).then((response) => response.arrayBuffer());
    const after = (await scrape(debugUrl as string)).samples;
    const labels = { route: 'manifest', method: 'GET', status: '200' };
    assert.equal(sampleValue(after, 'berth_http_requests_total', labels) - sampleValue(before, 'berth_http_requests_total', labels), 1);

    const other = await fetch(new URL('/metrics', debugUrl as string));
    assert.equal(other.status, 404);
    await other.arrayBuffer();
    const post = await fetch(debugUrl as string, { method: 'POST' });
    assert.equal(post.status, 405);
    await post.arrayBuffer();
  });

  it('does not serve /metrics on the registry address when http.metrics.access is disabled', async () => {
    const response = await fetch(`${registry.url}/metrics`);
    assert.equal(response.status, 404);
    assert.equal(JSON.parse(await response.text()).errors[0].code, 'NOT_FOUND');
  });
});

describe('/metrics behind authentication, sign-in outcomes, combined access log', { skip }, () => {
  let registry: TestRegistry;
  const admin = basicAuthorization('root', 'root-password-1');
  const user = basicAuthorization('dev', 'dev-password-1');

  before(async () => {
    const dir = await import('node:fs/promises').then(({ mkdtemp }) => mkdtemp(join(process.env.TMPDIR ?? '/tmp', 'berth-metrics-')));
    const htpasswd = join(dir, 'htpasswd');
    const entry = (name: string, password: string): string => `${name}:${bcrypt.hashSync(password, 4).replace(/^\$2[ab]\$/, '$2y$')}`;
    await writeFile(htpasswd, `${entry('root', 'root-password-1')}\n${entry('dev', 'dev-password-1')}\n`);
    registry = await startRegistry({
      extraConfig: [
        'auth:',
        '  htpasswd:',
        '    realm: metrics-realm',
        `    path: ${JSON.stringify(htpasswd)}`,
        '  access:',
        '    admins: [root]',
      ].join('\n'),
      env: { BERTH_HTTP_METRICS_ACCESS: 'admin', BERTH_LOG_ACCESSLOG_FORMAT: 'combined' },
    });
  });
  after(() => registry?.stop());

  it('answers 401 with a challenge without credentials, 403 to a user who is not an administrator, 200 to one who is', async () => {
    const anonymous = await callRegistry(registry, 'GET', '/metrics', undefined);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.get('www-authenticate'), 'Basic realm="metrics-realm", charset="UTF-8"');
    assert.equal(JSON.parse(anonymous.text).errors[0].code, 'UNAUTHORIZED');
    const wrong = await callRegistry(registry, 'GET', '/metrics', basicAuthorization('root', 'not-it'));
    assert.equal(wrong.status, 401);
    const notAdmin = await callRegistry(registry, 'GET', '/metrics', user);
    assert.equal(notAdmin.status, 403);
    assert.equal(JSON.parse(notAdmin.text).errors[0].code, 'DENIED');
    const allowed = await callRegistry(registry, 'GET', '/metrics', admin);
    assert.equal(allowed.status, 200);
    assert.match(allowed.text, /^berth_http_requests_total\{/m);
  });

  it('counts sign-ins by outcome', async () => {
    const samples = async (): Promise<Sample[]> => (await scrape(`${registry.url}/metrics`, admin)).samples;
    const before = await samples();
    for (let i = 0; i < 2; i++)
      assert.equal((await callRegistry(registry, 'GET', '/v2/', basicAuthorization('dev', `wrong-${i}`))).status, 401);
    assert.equal((await callRegistry(registry, 'GET', '/v2/', user)).status, 200);
    assert.equal((await callRegistry(registry, 'GET', '/v2/', 'Bearer not-a-token')).status, 401);
    const after = await samples();
    const moved = (result: string, method = 'basic'): number =>
      sampleValue(after, 'berth_auth_attempts_total', { method, result }) -
      sampleValue(before, 'berth_auth_attempts_total', { method, result });
    assert.equal(moved('failure'), 2);
    // The user's sign-in, and the administrator's of the scrape that read `after`.
    assert.equal(moved('success'), 2);
    assert.equal(moved('failure', 'bearer'), 1);
    assert.equal(moved('throttled'), 0);
  });

  it('counts garbage-collection runs and the bytes they freed', async () => {
    const samples = async (): Promise<Sample[]> => (await scrape(`${registry.url}/metrics`, admin)).samples;
    const before = await samples();
    assert.equal(sampleValue(before, 'berth_gc_runs_in_progress'), 0);
    // A blob no manifest references, deleted from its repository: the next run frees its bytes.
    const repo = uniqueRepo('gc');
    const blob = randomBlob(3000);
    const upload = await callRegistry(registry, 'POST', `/v2/${repo}/blobs/uploads/`, admin);
    const location = upload.headers.get('location') ?? '';
    const put = await callRegistry(registry, 'PUT', `${location}${location.includes('?') ? '&' : '?'}digest=${sha256(blob)}`, admin, {
      body: blob,
    });
    assert.equal(put.status, 201, put.text);
    assert.equal((await callRegistry(registry, 'DELETE', `/v2/${repo}/blobs/${sha256(blob)}`, admin)).status, 202);
    const dryRun = await callRegistry(registry, 'POST', '/api/v1/gc/runs', admin, { json: { grace: '0s', dryRun: true } });
    assert.equal(dryRun.status, 200, dryRun.text);
    const run = await callRegistry(registry, 'POST', '/api/v1/gc/runs', admin, { json: { grace: '0s' } });
    assert.equal(run.status, 200, run.text);
    const freed = (JSON.parse(run.text) as { stats: { bytesFreed: number } }).stats.bytesFreed;
    assert.ok(freed >= blob.length, `freed ${freed}`);
    const after = await samples();
    // The dry run counts as no run.
    assert.equal(
      sampleValue(after, 'berth_gc_runs_total', { result: 'finished' }) -
        sampleValue(before, 'berth_gc_runs_total', { result: 'finished' }),
      1,
    );
    assert.equal(sampleValue(after, 'berth_gc_freed_bytes_total') - sampleValue(before, 'berth_gc_freed_bytes_total'), freed);
    assert.equal(sampleValue(after, 'berth_gc_runs_total', { result: 'failed' }), 0);
  });

  it('writes combined-format access-log lines naming the user, never the password', async () => {
    assert.equal((await callRegistry(registry, 'GET', '/metrics', undefined)).status, 401);
    const repo = uniqueRepo('combined');
    const blob = randomBlob(700);
    const upload = await callRegistry(registry, 'POST', `/v2/${repo}/blobs/uploads/`, admin);
    assert.equal(upload.status, 202);
    const location = upload.headers.get('location') ?? '';
    const put = await callRegistry(registry, 'PUT', `${location}${location.includes('?') ? '&' : '?'}digest=${sha256(blob)}`, admin, {
      body: blob,
    });
    assert.equal(put.status, 201, put.text);
    const response = await fetch(`${registry.url}/v2/${repo}/blobs/${sha256(blob)}?password=oops`, {
      headers: { authorization: admin, 'user-agent': 'combined-test "quoted"', referer: 'https://example.test/x' },
    });
    assert.equal(response.status, 200);
    await response.arrayBuffer();
    const pattern = new RegExp(
      `^127\\.0\\.0\\.1 - root \\[\\d{2}/[A-Z][a-z]{2}/\\d{4}:\\d{2}:\\d{2}:\\d{2} \\+0000\\] "GET /v2/${repo}/blobs/${sha256(blob)}\\?password=REDACTED HTTP/1\\.1" 200 700 "https://example\\.test/x" "combined-test \\\\"quoted\\\\""$`,
      'm',
    );
    await eventually(() => pattern.test(registry.output()), 'the combined line of the blob GET');
    const anonymousLine = /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/metrics HTTP\/1\.1" 401 \d+ "-" "[^"]*"$/m;
    await eventually(() => anonymousLine.test(registry.output()), 'a request without sign-in logged with user -');
    const output = registry.output();
    assert.ok(!output.includes('root-password-1') && !output.includes('dev-password-1'), 'a password reached the log');
    assert.ok(!output.includes(admin.slice('Basic '.length)), 'an Authorization header reached the log');
    assert.ok(!output.includes('oops'), 'a query value reached the log');
    // Combined lines replace the JSON request lines.
    assert.ok(!logLines(registry).some((line) => line.msg === 'request'));
  });
});
