// `berth tls dev-cert`: writes a development CA and a server certificate signed by it, then
// prints the configuration lines that serve them and how to make Docker, podman/skopeo/buildah
// and the system trust the CA.
import type { Command } from 'commander';
import type { DevCertResult } from '../server/dev-cert.js';

interface DevCertFlags {
  host: string[];
  out: string;
  days: string;
  port: string;
  force: boolean;
  defaultHosts: boolean;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The text printed after writing the files: where they are and what to do with them. */
export function devCertInstructions(result: DevCertResult, port: number): string {
  const host = result.hosts[0] ?? 'localhost';
  const hostPort = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  return [
    `Wrote a development CA and a server certificate for ${result.hosts.join(', ')}:`,
    `  ${result.caCert}      CA certificate (give this to clients)`,
    `  ${result.caKey}      CA private key (mode 0600; keep it, or delete it once you are done issuing)`,
    `  ${result.serverCert}  server certificate`,
    `  ${result.serverKey}  server private key (mode 0600)`,
    '',
    'Serve HTTPS with these lines in the configuration file:',
    '  http:',
    '    tls:',
    `      certificate: ${result.serverCert}`,
    `      key: ${result.serverKey}`,
    'or with the environment variables:',
    `  REGISTRY_HTTP_TLS_CERTIFICATE=${result.serverCert}`,
    `  REGISTRY_HTTP_TLS_KEY=${result.serverKey}`,
    '',
    `Trust the CA on each client machine (shown for ${hostPort}; repeat for every host:port clients use):`,
    '  Docker:',
    `    sudo mkdir -p /etc/docker/certs.d/${hostPort}`,
    `    sudo cp ${result.caCert} /etc/docker/certs.d/${hostPort}/ca.crt`,
    '  podman, skopeo, buildah:',
    `    sudo mkdir -p /etc/containers/certs.d/${hostPort}`,
    `    sudo cp ${result.caCert} /etc/containers/certs.d/${hostPort}/ca.crt`,
    `    (or per command: --cert-dir DIR, with DIR holding ca.crt)`,
    '  the whole system (curl, and everything else that reads the system store), Debian/Ubuntu:',
    `    sudo cp ${result.caCert} /usr/local/share/ca-certificates/berth-dev-ca.crt`,
    '    sudo update-ca-certificates',
    '',
    'This CA is for development: anyone holding ca.key can issue certificates your clients trust.',
  ].join('\n');
}

export function registerTlsCommand(program: Command): void {
  const tls = program.command('tls').description('TLS tools');
  tls
    .command('dev-cert')
    .description('write a self-signed development CA and a server certificate signed by it (ca.crt, ca.key, server.crt, server.key)')
    .option(
      '--host <name>',
      'host name or IP address clients use (repeatable); localhost and 127.0.0.1 are added unless --no-default-hosts',
      collect,
      [],
    )
    .option('--out <dir>', 'directory to write the files into', './certs')
    .option('--days <n>', 'validity in days', '365')
    .option('--port <n>', 'port shown in the trust instructions', '5000')
    .option('--no-default-hosts', 'do not add localhost and 127.0.0.1')
    .option('--force', 'replace existing files', false)
    .action(async (flags: DevCertFlags) => {
      const days = Number(flags.days);
      const port = Number(flags.port);
      if (!Number.isInteger(port) || port < 1 || port > 65_535) {
        console.error(`berth tls dev-cert: --port must be a port number, got ${flags.port}`);
        process.exitCode = 2;
        return;
      }
      if (flags.host.length === 0 && !flags.defaultHosts) {
        console.error('berth tls dev-cert: give at least one --host');
        process.exitCode = 2;
        return;
      }
      // Loaded here: the X.509 encoder is needed by this command only, not by every `berth serve`.
      const { writeDevCertificates, DevCertExistsError } = await import('../server/dev-cert.js');
      try {
        const result = await writeDevCertificates({
          hosts: flags.host,
          outDir: flags.out,
          days,
          force: flags.force,
          defaultHosts: flags.defaultHosts,
        });
        console.log(devCertInstructions(result, port));
      } catch (error) {
        console.error(`berth tls dev-cert: ${error instanceof Error ? error.message : String(error)}`);
        process.exitCode = error instanceof DevCertExistsError ? 1 : 2;
      }
    });
}
