// Credentials as clients send them, for tests of authenticated registries.

/** The Authorization header value of HTTP Basic authentication. */
export function basicAuthorization(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}
