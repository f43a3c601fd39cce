// The access log: one line per request, as a JSON log line (the default: method, url, status,
// bytes, duration, user, request id, client address, user agent) or in Apache's combined format
// (log.accesslog.format: combined). Never a credential: no Authorization header, and of the
// query string only the parameters the registry API defines, other values replaced by
// "REDACTED" (a token or password a client put in the URL stays out of the logs).
import type { FastifyReply, FastifyRequest } from 'fastify';

export type AccessLogOptions =
  | { readonly format: 'json' }
  /** `write` takes one whole line, newline included. */
  | { readonly format: 'combined'; readonly write: (line: string) => void };

/** Query parameters whose values are logged: what the registry API and the token endpoint define, none secret. */
const LOGGED_PARAMETERS: ReadonlySet<string> = new Set([
  'n',
  'last',
  'digest',
  'mount',
  'from',
  'ns',
  'artifactType',
  'scope',
  'service',
  'account',
  'client_id',
  'offline_token',
]);

/** The request's path and query as logged: unknown query parameters keep their name, not their value. */
export function loggedUrl(url: string): string {
  const queryStart = url.indexOf('?');
  if (queryStart === -1) return url;
  const parts = url.slice(queryStart + 1).split('&');
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    const equals = part.indexOf('=');
    const name = safeDecode(equals === -1 ? part : part.slice(0, equals));
    if (equals !== -1 && !LOGGED_PARAMETERS.has(name)) parts[i] = `${part.slice(0, equals)}=REDACTED`;
  }
  return `${url.slice(0, queryStart)}?${parts.join('&')}`;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '));
  } catch {
    return text;
  }
}

/** Writes the access-log line of a finished request. */
export function logAccess(
  options: AccessLogOptions,
  request: FastifyRequest,
  reply: FastifyReply,
  route: string,
  status: number,
  bytesOut: number,
): void {
  if (options.format === 'combined') {
    options.write(combinedLine(request, status, bytesOut));
    return;
  }
  request.log.info(
    {
      method: request.method,
      url: loggedUrl(request.url),
      route,
      status,
      bytes: bytesOut,
      ms: Math.round(reply.elapsedTime * 1000) / 1000,
      user: request.berthUser ?? undefined,
      client: request.socket.remoteAddress,
      userAgent: request.headers['user-agent'],
      // "1.1" or "2.0": which protocol a client negotiated is otherwise invisible.
      http: request.raw.httpVersion,
    },
    'request',
  );
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * Apache's combined format: host ident user [time] "request line" status bytes "referer" "user agent".
 * The time is UTC; quoted fields escape quotes, backslashes and control characters as Apache does.
 */
export function combinedLine(request: FastifyRequest, status: number, bytesOut: number, now = new Date()): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  const time = `${two(now.getUTCDate())}/${MONTHS[now.getUTCMonth()]}/${now.getUTCFullYear()}:${two(now.getUTCHours())}:${two(now.getUTCMinutes())}:${two(now.getUTCSeconds())} +0000`;
  const requestLine = `${request.method} ${loggedUrl(request.url)} HTTP/${request.raw.httpVersion}`;
  const user = request.berthUser === null ? '-' : escapeField(request.berthUser);
  const referer = header(request.headers.referer);
  const agent = header(request.headers['user-agent']);
  return `${request.socket.remoteAddress ?? '-'} - ${user} [${time}] "${escapeField(requestLine)}" ${status} ${bytesOut === 0 ? '-' : bytesOut} "${referer}" "${agent}"\n`;
}

function header(value: string | string[] | undefined): string {
  if (value === undefined) return '-';
  return escapeField(Array.isArray(value) ? value.join(', ') : value);
}

/** As Apache escapes logged strings: quotes and backslashes, and control characters as \xhh. */
function escapeField(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is escaped
  return text.replace(/["\\\x00-\x1f\x7f]/g, (char) =>
    char === '"' || char === '\\' ? `\\${char}` : `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}
