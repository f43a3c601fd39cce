// The UI's only way to the server: fetch() against the documented HTTP APIs (/api/v1 and /v2/),
// same origin, with the session cookie the browser sends by itself. Every request carries
// X-Berth-UI, so a 401 comes without a WWW-Authenticate challenge and the browser never shows
// its own password dialog over the UI (which has a sign-in page). Every state-changing call
// carries the session's CSRF token in a header, which the server checks; the token lives in
// memory only (never localStorage) and comes back from GET /api/v1/session after a reload.

/** The header the server reads the CSRF token from. */
export const CSRF_HEADER = 'X-Berth-CSRF';
/** The header that marks the UI's requests (any value). */
export const UI_HEADER = 'X-Berth-UI';

let csrfToken: string | undefined;

export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

/** An error answer of the server, with the OCI error body's first code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

interface OciErrorBody {
  errors?: { code?: string; message?: string }[];
}

async function failure(response: Response): Promise<ApiError> {
  let code = `HTTP_${response.status}`;
  let message = response.statusText || `HTTP ${response.status}`;
  try {
    const body = (await response.json()) as OciErrorBody;
    const first = body.errors?.[0];
    if (first?.code) code = first.code;
    if (first?.message) message = first.message;
  } catch {
    // Not JSON: keep the status line.
  }
  return new ApiError(response.status, code, message);
}

export interface RequestOptions {
  readonly method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly body?: unknown;
  readonly accept?: string;
}

/** Sends a request; resolves with the Response when it succeeded (2xx), rejects with ApiError otherwise. */
export async function request(path: string, options: RequestOptions = {}): Promise<Response> {
  const method = options.method ?? 'GET';
  const headers: Record<string, string> = { [UI_HEADER]: '1' };
  if (options.accept !== undefined) headers.Accept = options.accept;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  // Signed in: the session's token. Signing in: any value (the header alone proves a same-origin caller).
  if (method !== 'GET') headers[CSRF_HEADER] = csrfToken ?? 'sign-in';
  const response = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  if (!response.ok) throw await failure(response);
  return response;
}

export async function getJson<T>(path: string, accept?: string): Promise<T> {
  const response = await request(path, accept === undefined ? {} : { accept });
  return (await response.json()) as T;
}

export async function sendJson<T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T | undefined> {
  const response = await request(path, body === undefined ? { method } : { method, body });
  if (response.status === 204) return undefined;
  const text = await response.text();
  return text === '' ? undefined : (JSON.parse(text) as T);
}

/** A repository path as /v2/ spells it: each component escaped, the slashes kept. */
export function repositoryPath(name: string): string {
  return name.split('/').map(encodeURIComponent).join('/');
}

/** A tag or digest as /v2/ spells it in a path: escaped, but a digest's ':' kept (Berth matches it literally). */
export function referencePath(reference: string): string {
  return encodeURIComponent(reference).replace(/%3A/gi, ':');
}

// ---- the shapes the server answers with

export interface SessionInfo {
  /** Whether the registry asks anyone to sign in at all (auth configured). */
  readonly authEnabled: boolean;
  readonly user: { readonly name: string; readonly admin: boolean } | null;
  readonly csrfToken: string | null;
  /** OpenID Connect providers to offer on the sign-in page (auth.oidc.providers). */
  readonly providers?: readonly { readonly name: string; readonly displayName: string }[];
}

export interface RepositorySummary {
  readonly name: string;
  readonly tags: number;
  readonly lastPush: string | null;
  /** Bytes linked into the repository, as the usage report counts them (a blob shared with another repository counts in both). */
  readonly size: number;
}

export interface RepositoryPage {
  readonly repositories: RepositorySummary[];
  /** The cursor of the next page (the last name of this one); null on the last page. */
  readonly next: string | null;
}

export interface TagSummary {
  readonly name: string;
  readonly digest: string;
  readonly mediaType: string;
  readonly artifactType: string | null;
  readonly size: number;
  readonly pushedAt: string;
  readonly lastPulledAt: string | null;
  /** An immutability rule protects the tag. */
  readonly immutable: boolean;
  /** What retention would do to the tag if it ran now; null when no policy judges the repository. */
  readonly retention: RetentionMark | null;
}

/** Why retention would untag a tag. */
export type RetentionReason = 'keeplast' | 'olderthan' | 'notpulledfor';

export interface RetentionMark {
  /** The id of the policy that judges the repository. */
  readonly rule: string;
  readonly keeps: boolean;
  readonly reasons: readonly RetentionReason[];
}

export interface TagList {
  readonly repository: string;
  readonly tags: TagSummary[];
  /** The cursor of the next page (the last tag of this one); null on the last page. */
  readonly next: string | null;
  readonly mayDelete: boolean;
}

/** The order of the repository and tag lists. */
export type ListingOrder = 'name' | 'last-push';

export interface NamespaceList {
  readonly parent: string | null;
  readonly namespaces: string[];
}
