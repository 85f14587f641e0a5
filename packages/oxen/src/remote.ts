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

/** Parses and validates a remote URL; a malformed one is a REMOTE_URL_INVALID error saying what shape is expected. */
export function parseRemoteUrl(url: string): RemoteRef {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new OxenError(
      'REMOTE_URL_INVALID',
      `The remote URL "${url}" is not a URL; expected http(s)://host[:port]/<namespace>/<repo>.`,
    );
  }
  const segments = parsed.pathname.split('/').filter(Boolean);
  if (!/^https?:$/.test(parsed.protocol) || segments.length !== 2 || parsed.username || parsed.password) {
    throw new OxenError(
      'REMOTE_URL_INVALID',
      `The remote URL "${url.replace(/\/\/[^@/]*@/, '//')}" is not of the form http(s)://host[:port]/<namespace>/<repo>; fix the repository's remote or --remote.`,
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
