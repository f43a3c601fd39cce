// Reloading http.tls when its files change on disk (a renewed certificate, rotated client CAs):
// each check compares the files' stamps with those of the last load and, when they differ,
// loads and checks them again and hands the new secure context to the servers. A renewal caught
// half-written is reported once and retried on the next change; the old certificate stays in
// use meanwhile. The polling itself is a job on the server's scheduler (CERTIFICATE_POLL_MS).
import { stat } from 'node:fs/promises';
import type { SecureContextOptions } from 'node:tls';
import type { Logger } from 'pino';
import { contextOptions, describeCertificate, readTlsMaterial, type TlsConfig, type TlsMaterial } from './tls-material.js';

/** How often the certificate files are checked for changes. */
export const CERTIFICATE_POLL_MS = 3_000;

/** "mtime:size:inode" of every watched file; a file that cannot be stat'ed counts as a change. */
export async function fileStamps(files: readonly string[]): Promise<string> {
  const stamps = await Promise.all(
    files.map((file) =>
      stat(file).then(
        (s) => `${s.mtimeMs}:${s.size}:${s.ino}`,
        () => 'missing',
      ),
    ),
  );
  return stamps.join('|');
}

export class CertificateReloader {
  private stamps: string;
  /** Stamps of files that failed to load, so a broken renewal is reported once, not every check. */
  private failedStamps = '';

  /**
   * @param stamps the files' stamps taken before `material` was read, so a change made while it
   *   was being read is loaded again by the next check.
   */
  constructor(
    private readonly tls: TlsConfig,
    private material: TlsMaterial,
    stamps: string,
    private readonly apply: (context: SecureContextOptions) => void,
    private readonly logger: Logger,
  ) {
    this.stamps = stamps;
  }

  /** Loads http.tls's files with their stamps. */
  static async load(tls: TlsConfig): Promise<{ material: TlsMaterial; stamps: string }> {
    const stamps = await fileStamps(watchedFiles(tls));
    return { material: await readTlsMaterial(tls), stamps };
  }

  /** The certificate, key and client CAs in use. */
  get current(): TlsMaterial {
    return this.material;
  }

  /** Loads the files again if any changed since the last load; true when a new certificate took effect. */
  async reloadIfChanged(): Promise<boolean> {
    const stamps = await fileStamps(watchedFiles(this.tls));
    if (stamps === this.stamps || stamps === this.failedStamps) return false;
    let material: TlsMaterial;
    try {
      material = await readTlsMaterial(this.tls);
    } catch (error) {
      // Often a renewal caught between writing the certificate and writing its key: the next
      // change of either file is tried again. The old certificate stays in use meanwhile.
      this.failedStamps = stamps;
      this.logger.warn(
        { reason: error instanceof Error ? error.message : String(error) },
        'TLS files changed but cannot be loaded; still serving the previous certificate',
      );
      return false;
    }
    this.apply(contextOptions(material, this.tls));
    this.material = material;
    this.stamps = stamps;
    this.failedStamps = '';
    this.logger.info(describeCertificate(material.leaf), 'TLS certificate reloaded');
    return true;
  }
}

function watchedFiles(tls: TlsConfig): string[] {
  return [tls.certificate, tls.key, ...tls.clientcas];
}
