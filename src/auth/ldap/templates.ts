// Putting untrusted text (the user name a client sent, a DN the directory returned) into the
// filters and DN templates of auth.ldap. Every value is escaped by ldapts, the way the LDAP
// RFCs say, so a user name such as `*)(uid=*` is matched literally and never widens a search
// or names another entry.
import { DN, Filter } from 'ldapts';

/** A filter template with each {placeholder} replaced by its value escaped for filters (RFC 4515). */
export function fillFilter(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = values[name];
    return value === undefined ? whole : Filter.escape(value);
  });
}

/** A DN template with {username} replaced by the name escaped as an attribute value (RFC 4514). */
export function fillDn(template: string, username: string): string {
  // A one-component DN renders `a=<escaped value>`: the escaped value is what follows `a=`.
  const escaped = new DN({ a: username }).toString().slice('a='.length);
  return template.replaceAll('{username}', escaped);
}

/**
 * The value of a DN's first component: the name of a group given by DN (memberOf), e.g.
 * `developers` for `cn=developers,ou=groups,dc=example,dc=org`. Escapes are undone.
 */
export function firstDnValue(dn: string): string | undefined {
  const match = /^[^=,]+=((?:\\.|[^,+\\])*)/.exec(dn.trim());
  if (match?.[1] === undefined) return undefined;
  // Hex escapes are bytes of UTF-8 (RFC 4514): collect bytes, then decode them together.
  const bytes: Buffer[] = [];
  for (const [, hex, escaped, plain] of match[1].matchAll(/\\([0-9a-fA-F]{2})|\\(.)|([^\\]+)/gs)) {
    if (hex !== undefined) bytes.push(Buffer.from([Number.parseInt(hex, 16)]));
    else bytes.push(Buffer.from(escaped ?? plain ?? '', 'utf8'));
  }
  const value = Buffer.concat(bytes).toString('utf8');
  return value === '' ? undefined : value;
}
