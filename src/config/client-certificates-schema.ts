// auth.clientcertificates: under mutual TLS (http.tls.clientcas), a verified client
// certificate signs its holder in as an existing Berth user, named by the certificate's subject
// CN or one of its SANs (src/auth/client-certificates.ts). Certificates then become optional at
// the TLS handshake, so password users keep working without one.
import { z } from 'zod';
import { setting } from './setting.js';

export type CertificateNameSource = 'cn' | 'san-email' | 'san-dns';

export interface ClientCertificatesConfig {
  /** Which part of the certificate names the user. */
  usernameFrom: CertificateNameSource;
  /** Removed from the end of the name, e.g. "@example.com" turns ci@example.com into ci; undefined: the name as it is. */
  stripSuffix: string | undefined;
}

export const clientCertificatesSection = z
  .strictObject({
    usernamefrom: setting(z.enum(['cn', 'san-email', 'san-dns']).default('cn'), {
      kind: 'enum',
      origin: 'berth',
      description:
        "Which part of a verified client certificate names the Berth user: cn (the subject's common name), san-email or san-dns (the first such subject alternative name). Setting auth.clientcertificates needs http.tls.clientcas.",
      expected: 'cn, san-email or san-dns',
      defaultText: 'cn',
    }),
    stripsuffix: setting(z.string().min(1).optional(), {
      kind: 'string',
      origin: 'berth',
      description: 'Removed from the end of the certificate name before it is taken as a user name, e.g. @example.com.',
      expected: 'a string',
      defaultText: 'none',
    }),
  })
  .optional();

type ClientCertificatesFile = z.output<typeof clientCertificatesSection>;

export function toClientCertificatesConfig(file: ClientCertificatesFile): ClientCertificatesConfig | undefined {
  if (file === undefined) return undefined;
  return { usernameFrom: file.usernamefrom, stripSuffix: file.stripsuffix };
}
