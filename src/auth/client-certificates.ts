// Client certificates as sign-ins (auth.clientcertificates): under mutual TLS, a certificate
// that Node verified against http.tls.clientcas names a Berth user by its subject CN or a SAN,
// so machines pull without a password. The user must already exist (htpasswd or database):
// a certificate authority that can issue certificates should not also be able to create
// accounts, and an operator grants the machine's user what it may pull like any other user.
// A request that carries an Authorization header is judged by it, certificate or not.
import type { PeerCertificate } from 'node:tls';
import { AuthenticationFailed, type Authenticator, type UserPrincipal } from './authenticator.js';

export interface ClientCertificateOptions {
  /** Which part of the certificate names the user. */
  readonly usernameFrom: 'cn' | 'san-email' | 'san-dns';
  /** Removed from the end of the name, e.g. @example.com; undefined: nothing is. */
  readonly stripSuffix: string | undefined;
}

/** What a connection tells about its client certificate (a TLSSocket, or HTTP/2's proxy of one). */
interface CertificateSocket {
  readonly authorized?: boolean;
  getPeerCertificate?(detailed?: boolean): PeerCertificate;
}

export class ClientCertificateSignIn {
  constructor(
    private readonly options: ClientCertificateOptions,
    private readonly authenticator: Authenticator,
  ) {}

  /**
   * The user a verified client certificate names; undefined when the connection has none (or
   * one that did not verify: it counts as no certificate). AuthenticationFailed when the name
   * is no Berth user.
   */
  async principalOf(socket: unknown): Promise<UserPrincipal | undefined> {
    const connection = socket as CertificateSocket | undefined;
    if (connection?.authorized !== true || typeof connection.getPeerCertificate !== 'function') return undefined;
    const certificate = connection.getPeerCertificate();
    const name = this.userName(certificate);
    if (name === undefined) {
      throw new AuthenticationFailed(`the client certificate has no ${this.options.usernameFrom} to take a user name from`);
    }
    const principal = await this.authenticator.userPrincipal(name);
    if (principal === undefined) throw new AuthenticationFailed(`the client certificate names ${name}, who is no Berth user`);
    return principal;
  }

  private userName(certificate: PeerCertificate): string | undefined {
    const name = certificateName(certificate, this.options.usernameFrom);
    const suffix = this.options.stripSuffix;
    if (name === undefined || suffix === undefined || !name.endsWith(suffix)) return name;
    return name.slice(0, -suffix.length);
  }
}

/** The certificate's subject CN, or its first email or DNS subject alternative name. */
export function certificateName(certificate: PeerCertificate, from: ClientCertificateOptions['usernameFrom']): string | undefined {
  if (from === 'cn') {
    const cn = certificate.subject?.CN;
    return (Array.isArray(cn) ? cn[0] : cn) || undefined;
  }
  const prefix = from === 'san-email' ? 'email:' : 'DNS:';
  // Node lists SANs as "DNS:a.example, email:b@example, IP Address:..." (values with a comma are quoted).
  for (const entry of (certificate.subjectaltname ?? '').split(', ')) {
    if (entry.startsWith(prefix)) return entry.slice(prefix.length) || undefined;
  }
  return undefined;
}
