// The development certificate generator: what `berth tls dev-cert` writes is a CA and a server
// certificate that node:crypto parses and verifies, with the right names, roles, validity and
// file modes, and existing files are not overwritten without force.
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DevCertExistsError, issueCertificate, writeDevCertificates, type DevCertResult } from './dev-cert.js';

const DAY_MS = 24 * 60 * 60 * 1000;

describe('writeDevCertificates', () => {
  let dir = '';
  let result: DevCertResult;
  let ca: X509Certificate;
  let server: X509Certificate;
  const now = new Date('2026-03-01T12:00:00Z');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-dev-cert-'));
    result = await writeDevCertificates({
      hosts: ['registry.example.test', '192.0.2.10', '::1'],
      outDir: join(dir, 'certs'),
      days: 30,
      now,
    });
    ca = new X509Certificate(await readFile(result.caCert));
    server = new X509Certificate(await readFile(result.serverCert));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the four files into the directory', () => {
    assert.deepEqual(
      [result.caCert, result.caKey, result.serverCert, result.serverKey],
      ['ca.crt', 'ca.key', 'server.crt', 'server.key'].map((name) => join(dir, 'certs', name)),
    );
  });

  it('makes a CA certificate (CA:true, self-signed)', () => {
    assert.equal(ca.ca, true);
    assert.equal(ca.verify(ca.publicKey), true, 'self-signed');
    assert.match(ca.subject, /CN=Berth development CA/);
  });

  it('makes a server certificate issued by and verifying with the CA, not itself a CA', () => {
    assert.equal(server.ca, false);
    assert.equal(server.checkIssued(ca), true);
    assert.equal(server.verify(ca.publicKey), true);
    assert.equal(server.issuer, ca.subject);
    assert.match(server.subject, /CN=registry\.example\.test/);
    assert.deepEqual(server.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'extended key usage: serverAuth only');
  });

  it('names every host, IPv4 and IPv6 addresses, and localhost and 127.0.0.1, in SubjectAltName', () => {
    assert.equal(
      server.subjectAltName,
      'DNS:registry.example.test, IP Address:192.0.2.10, IP Address:0:0:0:0:0:0:0:1, DNS:localhost, IP Address:127.0.0.1',
    );
    assert.deepEqual(result.hosts, ['registry.example.test', '192.0.2.10', '::1', 'localhost', '127.0.0.1']);
    assert.equal(server.checkHost('registry.example.test'), 'registry.example.test');
    assert.equal(server.checkHost('localhost'), 'localhost');
    assert.equal(server.checkIP('192.0.2.10'), '192.0.2.10');
    assert.equal(server.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(server.checkHost('other.example.test'), undefined);
  });

  it('is valid for the requested number of days from now', () => {
    for (const cert of [ca, server]) {
      const from = Date.parse(cert.validFrom);
      const to = Date.parse(cert.validTo);
      assert.ok(from <= now.getTime() && now.getTime() - from <= 2 * 60_000, `validFrom ${cert.validFrom}`);
      assert.equal(Math.round((to - now.getTime()) / DAY_MS), 30, `validTo ${cert.validTo}`);
    }
  });

  it('writes keys that belong to their certificates, with mode 0600', async () => {
    assert.equal(server.checkPrivateKey(createPrivateKey(await readFile(result.serverKey))), true);
    assert.equal(ca.checkPrivateKey(createPrivateKey(await readFile(result.caKey))), true);
    for (const key of [result.caKey, result.serverKey]) {
      assert.equal((await stat(key)).mode & 0o777, 0o600, key);
    }
    assert.equal((await stat(result.serverCert)).mode & 0o077, 0o044, 'certificates are readable by others');
  });

  it('refuses to overwrite existing files, and replaces them with force', async () => {
    const before = await readFile(result.serverCert, 'utf8');
    await assert.rejects(writeDevCertificates({ hosts: ['x.test'], outDir: join(dir, 'certs'), days: 1 }), (error: unknown) => {
      assert.ok(error instanceof DevCertExistsError);
      assert.equal(error.files.length, 4);
      assert.match(error.message, /refusing to overwrite .*ca\.crt.*--force/);
      return true;
    });
    assert.equal(await readFile(result.serverCert, 'utf8'), before, 'untouched');

    // One existing file is enough to refuse, and nothing is written then.
    const partial = join(dir, 'partial');
    await writeDevCertificates({ hosts: [], outDir: partial, days: 1 });
    await rm(join(partial, 'ca.crt'));
    await rm(join(partial, 'server.crt'));
    await assert.rejects(writeDevCertificates({ hosts: [], outDir: partial, days: 1 }), DevCertExistsError);
    await assert.rejects(stat(join(partial, 'ca.crt')), /ENOENT/);

    const forced = await writeDevCertificates({ hosts: ['x.test'], outDir: join(dir, 'certs'), days: 1, force: true });
    const replaced = new X509Certificate(await readFile(forced.serverCert));
    assert.match(replaced.subjectAltName ?? '', /DNS:x\.test/);
    assert.equal((await stat(forced.serverKey)).mode & 0o777, 0o600);
  });

  it('leaves out localhost and 127.0.0.1 on request, and rejects bad input', async () => {
    const only = await writeDevCertificates({ hosts: ['only.test'], outDir: join(dir, 'only'), days: 1, defaultHosts: false });
    assert.equal(new X509Certificate(await readFile(only.serverCert)).subjectAltName, 'DNS:only.test');
    await assert.rejects(writeDevCertificates({ hosts: ['a.test'], outDir: join(dir, 'bad'), days: 0 }), /days must be/);
    await writeFile(join(dir, 'not-a-dir'), '');
    await assert.rejects(writeDevCertificates({ hosts: ['a.test'], outDir: join(dir, 'not-a-dir'), days: 1 }));
  });

  it('issues client certificates (clientAuth) for mutual TLS', async () => {
    const authority = { cert: await readFile(result.caCert, 'utf8'), key: await readFile(result.caKey, 'utf8') };
    const client = new X509Certificate(issueCertificate(authority, { hosts: ['ci'], days: 1, usage: 'client' }).cert);
    assert.deepEqual(client.keyUsage, ['1.3.6.1.5.5.7.3.2']);
    // (The force test above replaced the files: this is the CA now on disk.)
    const current = new X509Certificate(authority.cert);
    assert.equal(client.checkIssued(current), true);
    assert.equal(client.verify(current.publicKey), true);
  });
});
