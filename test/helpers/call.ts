// One request to a test registry as an authorization test makes it: an optional Authorization
// header, a body or a JSON body, redirects not followed, and the whole answer read as text.

export interface RegistryAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

export interface CallOptions {
  readonly body?: Uint8Array | string;
  /** Sent as JSON with Content-Type application/json (instead of body). */
  readonly json?: unknown;
  readonly headers?: Record<string, string>;
}

export async function callRegistry(
  registry: { readonly url: string },
  method: string,
  path: string,
  authorization: string | undefined,
  options: CallOptions = {},
): Promise<RegistryAnswer> {
  const body = options.json === undefined ? options.body : JSON.stringify(options.json);
  const response = await fetch(new URL(path, registry.url), {
    method,
    headers: {
      ...(authorization === undefined ? {} : { authorization }),
      ...(options.json === undefined ? {} : { 'content-type': 'application/json' }),
      ...options.headers,
    },
    ...(body === undefined ? {} : { body }),
    redirect: 'manual',
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}
