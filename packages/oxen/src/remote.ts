import { OxenError } from './errors.js';

/** A parsed Oxen remote URL `http(s)://host[:port]/<namespace>/<repo>`. */
export interface RemoteRef {
  readonly url: string;
  /** `http://host:port` */
  readonly origin: string;
  /** `host:port` as Oxen's auth config keys it (port omitted when default). */
  readonly host: string;
  readonly namespace: string;
  readonly repo: string;
}

/**
 * A URL (or anything meant to be one) with its credentials hidden: everything between the scheme
 * and the LAST `@` becomes `***`, so `http://alice:p@ss@host/x` leaks nothing, parsable or not.
 */
export function redactUrl(url: string): string {
  const at = url.lastIndexOf('@');
  if (at < 0) return url;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0] ?? '';
  return `${scheme}***${url.slice(at)}`;
}

/**
 * Parses and validates a remote URL; a malformed one is a REMOTE_URL_INVALID error with the
 * `problem` and the URL with its credentials hidden (where to fix it is the caller's to say).
 */
export function parseRemoteUrl(url: string): RemoteRef {
  const shown = redactUrl(url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new OxenError(
      'REMOTE_URL_INVALID',
      `The remote URL "${shown}" is not a URL; expected http(s)://host[:port]/<namespace>/<repo>.`,
      { problem: 'not-a-url', url: shown },
    );
  }
  if (url.includes('@')) {
    throw new OxenError('REMOTE_URL_INVALID', `The remote URL "${shown}" carries credentials.`, {
      problem: 'credentials',
      url: shown,
    });
  }
  const segments = parsed.pathname.split('/').filter(Boolean);
  if (!/^https?:$/.test(parsed.protocol) || segments.length !== 2) {
    throw new OxenError(
      'REMOTE_URL_INVALID',
      `The remote URL "${shown}" is not of the form http(s)://host[:port]/<namespace>/<repo>.`,
      { problem: 'not-a-repository-url', url: shown },
    );
  }
  const [namespace, repo] = segments as [string, string];
  return {
    url: `${parsed.origin}/${namespace}/${repo}`,
    origin: parsed.origin,
    host: parsed.host,
    namespace,
    repo,
  };
}

/** Compares dotted versions (`0.50.4`); negative when a < b. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+-]/).map((p) => Number.parseInt(p, 10) || 0);
  const pb = b.split(/[.+-]/).map((p) => Number.parseInt(p, 10) || 0);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
