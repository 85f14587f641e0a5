import { readAuthToken, removeAuthToken, writeAuthToken } from '@oxvcs/oxen';
import { EngineError } from '../errors.js';
import type { Verb } from '../session.js';

// The auth verbs: keep, check and forget the API token of the project's remote host.

/** `Engine.authLogin`. */
export const authLogin: Verb<'authLogin'> = async (s, token) => {
  const value = token.trim();
  // Printable ASCII only: it travels in an HTTP header, which cannot carry a control character (a
  // pasted escape) and would send a non-ASCII letter as other bytes; such a token never works.
  if (!/^[\x21-\x7e]+$/.test(value)) {
    throw new EngineError(
      'INVALID_INPUT',
      'The token is empty or holds spaces, control characters or non-ASCII letters, which no API token has; paste the API token exactly as issued.',
      { field: 'token' },
    );
  }
  const host = s.getProject().remote.host;
  const file = writeAuthToken(host, value, s.configDir());
  return { host, file };
};

/** `Engine.authStatus`. */
export const authStatus: Verb<'authStatus'> = async (s) => {
  const p = s.getProject();
  const file = `${s.configDir()}/auth_config.toml`;
  const hasToken = s.tokenFor(p.remote.host) !== undefined;
  // Read again for the facts: the session says a readable file once per process, as an event.
  let readable: { mode: number } | undefined;
  readAuthToken(p.remote.host, s.configDir(), ({ mode }) => {
    readable = { mode };
  });
  const base = { host: p.remote.host, hasToken, file, ...(readable ? { readableByOthers: readable } : {}) };
  const conn = await s.connectivity(true);
  if (conn.state !== 'online') return { ...base, connectivity: conn };
  try {
    await s.hubFor(p.remote.url).getRepository();
    return { ...base, connectivity: conn, authenticated: true };
  } catch (error) {
    if ((error as { code?: string }).code === 'AUTH')
      return { ...base, connectivity: conn, authenticated: false };
    throw error;
  }
};

/** `Engine.authLogout`. */
export const authLogout: Verb<'authLogout'> = async (s) => {
  const host = s.getProject().remote.host;
  return { host, removed: removeAuthToken(host, s.configDir()) };
};
