// Connections to the directory: how one is opened (ldap://, ldaps:// or StartTLS, with the
// configured CA and timeouts), a small pool of connections for users' binds (a bind changes
// who a connection speaks for, so each sign-in borrows one), and the service account's one
// connection, bound once and reused by every search until it breaks.
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Client, InvalidCredentialsError } from 'ldapts';

export interface ConnectionSettings {
  readonly url: string;
  readonly startTls: boolean;
  readonly caFile: string | undefined;
  readonly timeoutMs: number;
}

/** The directory did not answer (down, refused, timed out, TLS failed); not a wrong password. */
export class DirectoryUnavailable extends Error {
  override readonly name = 'DirectoryUnavailable';
  constructor(cause: unknown) {
    super(`the directory cannot be reached: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** Reads the CA file now, so a missing or unreadable one stops the start with its path named. */
export function tlsOptionsOf(settings: ConnectionSettings): ConnectionOptions {
  if (settings.caFile === undefined) return {};
  let ca: Buffer;
  try {
    ca = readFileSync(settings.caFile);
  } catch (error) {
    throw new Error(`cannot read ${settings.caFile} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  if (!ca.toString('latin1').includes('-----BEGIN CERTIFICATE-----')) {
    throw new Error(`${settings.caFile} holds no PEM certificate`);
  }
  return { ca };
}

/** Opens connections with the settings; each is connected (and upgraded by StartTLS) before use. */
export class ConnectionFactory {
  private readonly tls: ConnectionOptions;

  constructor(private readonly settings: ConnectionSettings) {
    this.tls = tlsOptionsOf(settings);
  }

  async open(): Promise<Client> {
    const client = new Client({
      url: this.settings.url,
      timeout: this.settings.timeoutMs,
      connectTimeout: this.settings.timeoutMs,
      // Only for ldaps://: ldapts opens a TLS connection whenever tlsOptions are given, and StartTLS
      // must begin in the clear.
      ...(this.settings.url.startsWith('ldaps:') ? { tlsOptions: this.tls } : {}),
      strictDN: false,
    });
    if (this.settings.startTls) {
      try {
        // The certificate is checked against the URL's host (ldapts would check "localhost").
        await client.startTLS({ ...this.tls, host: new URL(this.settings.url).hostname });
      } catch (error) {
        await close(client);
        throw error;
      }
    }
    return client;
  }
}

export async function close(client: Client): Promise<void> {
  await client.unbind().catch(() => undefined);
}

/** A wrong DN or password: the one bind failure that is an answer, not an outage. */
export function isWrongCredentials(error: unknown): boolean {
  return error instanceof InvalidCredentialsError;
}

/**
 * At most `size` connections for users' binds. A connection goes back to the pool after a use
 * that ended with an answer from the directory (success or wrong password); after any other
 * error it is closed, and the next use opens a fresh one.
 */
export class BindPool {
  private readonly idle: Client[] = [];
  private readonly waiting: (() => void)[] = [];
  private opened = 0;

  constructor(
    private readonly factory: ConnectionFactory,
    private readonly size: number,
  ) {}

  async use<T>(work: (client: Client) => Promise<T>): Promise<T> {
    const client = await this.acquire();
    let healthy = false;
    try {
      const result = await work(client);
      healthy = true;
      return result;
    } catch (error) {
      healthy = isWrongCredentials(error);
      throw error;
    } finally {
      this.release(client, healthy);
    }
  }

  async closeAll(): Promise<void> {
    const clients = this.idle.splice(0);
    this.opened -= clients.length;
    await Promise.all(clients.map(close));
  }

  private async acquire(): Promise<Client> {
    for (;;) {
      const idle = this.idle.pop();
      if (idle !== undefined) return idle;
      if (this.opened < this.size) {
        this.opened += 1;
        try {
          return await this.factory.open();
        } catch (error) {
          this.opened -= 1;
          this.wakeOne();
          throw error;
        }
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private release(client: Client, healthy: boolean): void {
    if (healthy && client.isConnected) {
      this.idle.push(client);
    } else {
      this.opened -= 1;
      void close(client);
    }
    this.wakeOne();
  }

  private wakeOne(): void {
    this.waiting.shift()?.();
  }
}

/** The service account's connection: bound on first use, shared by concurrent searches, reopened after it breaks. */
export class ServiceConnection {
  private current: Promise<Client> | undefined;

  constructor(
    private readonly factory: ConnectionFactory,
    private readonly account: { readonly dn: string; readonly password: string },
  ) {}

  async use<T>(work: (client: Client) => Promise<T>): Promise<T> {
    const client = await this.connected();
    try {
      return await work(client);
    } catch (error) {
      // A broken connection is replaced at the next use; a search the directory refused leaves it as it is.
      if (!client.isConnected) this.current = undefined;
      throw error;
    }
  }

  async close(): Promise<void> {
    const client = await this.current?.catch(() => undefined);
    this.current = undefined;
    if (client !== undefined) await close(client);
  }

  /** The bound connection, opened and bound again when there is none or the last one was closed. */
  private async connected(): Promise<Client> {
    const last = this.current;
    if (last !== undefined) {
      const client = await last.catch(() => undefined);
      if (client?.isConnected === true) return client;
      if (this.current === last) this.current = undefined;
    }
    this.current ??= this.bound();
    const attempt = this.current;
    try {
      return await attempt;
    } catch (error) {
      if (this.current === attempt) this.current = undefined;
      throw error;
    }
  }

  private async bound(): Promise<Client> {
    const client = await this.factory.open();
    try {
      await client.bind(this.account.dn, this.account.password);
      return client;
    } catch (error) {
      await close(client);
      throw error;
    }
  }
}
