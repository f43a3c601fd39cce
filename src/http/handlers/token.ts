// The built-in token server's endpoint (Docker registry token specification): GET /token with
// Basic credentials or none (anonymous), and the OAuth2 form POST /token with the password and
// refresh_token grants, which `docker login` uses to obtain a refresh token. Both take a CI job's
// OIDC ID token as the password (auth.workloadidentity).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuthenticationFailed, parseScopes, type TokenGrant, type TokenService } from '../../auth/index.js';
import { RegistryError } from '../../errors/index.js';
import { clientAddress, type HttpAuth } from '../auth-gate.js';
import { readWholeBody } from '../body-chunks.js';
import { rememberUser } from '../request-observer.js';
import { noteAudit, signInName } from '../request-audit.js';

const MAX_FORM_BYTES = 64 * 1024;

export function tokenHandlers(auth: HttpAuth) {
  if (auth.tokens === undefined) throw new Error('token handlers need the token service');
  const tokens: TokenService = auth.tokens;

  const checkService = (service: string | null): void => {
    if (service !== null && service !== '' && service !== auth.service) {
      throw new RegistryError(
        'BAD_REQUEST',
        { service, expected: auth.service },
        { message: `this token server issues tokens for service "${auth.service}"` },
      );
    }
  };

  const signInFailed = (reason: string): RegistryError =>
    new RegistryError('UNAUTHORIZED', undefined, {
      message: reason,
      headers: { 'WWW-Authenticate': `Basic realm="${auth.service.replace(/["\\]/g, '')}", charset="UTF-8"` },
    });

  async function getToken(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const query = new URLSearchParams(request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '');
    checkService(query.get('service'));
    let grant: TokenGrant;
    try {
      const principal = await auth.authenticator.authenticate(request.headers.authorization, clientAddress(request));
      rememberUser(request, principal);
      // A token is exchanged only for a password or an API token, never another token (issue refuses).
      grant = await tokens.issue(principal, parseScopes(query.getAll('scope')), query.get('offline_token') === 'true');
    } catch (error) {
      if (error instanceof AuthenticationFailed) throw signInFailed(error.reason);
      throw error;
    }
    return sendGrant(reply, grant, { token: grant.token });
  }

  async function postToken(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const form = new URLSearchParams(await readForm(request));
    checkService(form.get('service'));
    const scopes = parseScopes(form.getAll('scope'));
    let grant: TokenGrant;
    try {
      switch (form.get('grant_type')) {
        case 'password': {
          // The failed sign-in's audit entry names the user it tried (never the password).
          const username = signInName(form.get('username') ?? undefined);
          if (username !== undefined) noteAudit(request, { detail: { user: username } });
          // The password may be a CI job's ID token, as at GET /token; such a job gets no
          // refresh token (issue), so nothing it is handed outlives its ID token.
          const principal = await auth.authenticator.signInWithPassword(
            form.get('username') ?? '',
            form.get('password') ?? '',
            clientAddress(request),
          );
          rememberUser(request, principal);
          grant = await tokens.issue(principal, scopes, form.get('access_type') === 'offline');
          break;
        }
        case 'refresh_token':
          grant = await tokens.refresh(form.get('refresh_token') ?? '', scopes);
          break;
        default:
          throw new RegistryError(
            'BAD_REQUEST',
            { grant_type: form.get('grant_type') },
            { message: 'grant_type must be password or refresh_token' },
          );
      }
    } catch (error) {
      if (error instanceof AuthenticationFailed) throw signInFailed(error.reason);
      throw error;
    }
    return sendGrant(reply, grant, {
      scope: grant.access.map((entry) => `${entry.type}:${entry.name}:${entry.actions.join(',')}`).join(' '),
    });
  }

  return { getToken, postToken };
}

function sendGrant(reply: FastifyReply, grant: TokenGrant, extra: Record<string, string>): FastifyReply {
  const body: Record<string, unknown> = {
    ...extra,
    access_token: grant.token,
    expires_in: grant.expiresIn,
    issued_at: grant.issuedAt,
    ...(grant.refreshToken === undefined ? {} : { refresh_token: grant.refreshToken }),
  };
  return reply.header('Content-Type', 'application/json').header('Cache-Control', 'no-store').send(JSON.stringify(body));
}

async function readForm(request: FastifyRequest): Promise<string> {
  const body = await readWholeBody(
    request.raw,
    MAX_FORM_BYTES,
    () => new RegistryError('BAD_REQUEST', undefined, { message: 'token request body too large' }),
  );
  return body.toString('utf8');
}
