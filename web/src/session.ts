// Who is signed in, as the server says (GET /api/v1/session), shared by every page.
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { getJson, sendJson, setCsrfToken, type SessionInfo } from './api';

export const ANONYMOUS_SESSION: SessionInfo = { authEnabled: true, user: null, csrfToken: null };

export async function loadSession(): Promise<SessionInfo> {
  const session = await getJson<SessionInfo>('/api/v1/session');
  setCsrfToken(session.csrfToken ?? undefined);
  return session;
}

export async function signIn(username: string, password: string): Promise<SessionInfo> {
  const session = (await sendJson<SessionInfo>('POST', '/api/v1/session', { username, password })) ?? ANONYMOUS_SESSION;
  setCsrfToken(session.csrfToken ?? undefined);
  return session;
}

export async function signOut(): Promise<void> {
  await sendJson('DELETE', '/api/v1/session');
  setCsrfToken(undefined);
}

export interface SessionState {
  readonly session: SessionInfo;
  readonly setSession: (session: SessionInfo) => void;
}

export const SessionContext = createContext<SessionState>({ session: ANONYMOUS_SESSION, setSession: () => undefined });

export function useSession(): SessionState {
  return useContext(SessionContext);
}
