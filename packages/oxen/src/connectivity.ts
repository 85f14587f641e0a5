import { clipServerText } from './clip.js';
import { redactUrl } from './remote.js';
import { fetchTransport, nodeTransport, type Transport } from './transport.js';

/** Result of a connectivity check against the configured Oxen remote. */
export type ConnectivityState = 'online' | 'offline' | 'unknown';

/**
 * Why a connectivity result is what it is, as a code and its facts (the apps word it):
 * - `oxen-answered`: the origin answered as an Oxen server (`status`, `serverVersion`);
 * - `auth-required`: the origin answered 401 or 403 (an auth-guarded Oxen server);
 * - `not-oxen`: the origin answered `status`, but not as an Oxen server (a captive portal or proxy);
 * - `requests-answered`: the origin answered a command's own requests (no probe was sent);
 * - `invalid-url`: the remote URL `url` (its credentials hidden) is not a URL;
 * - `cancelled`: the caller's signal ended the check;
 * - `timeout`: no answer within `timeoutMs`;
 * - `unreachable`: the connection failed with `errno` (refused, reset, no such host…);
 * - `tls-failed`: the TLS handshake failed with `errno`;
 * - `unrecognised`: any other failure, with its `detail` (the error's message).
 */
export type ConnectivityReason =
  | {
      readonly code: 'oxen-answered';
      readonly origin: string;
      readonly status: number;
      readonly serverVersion: string;
    }
  | { readonly code: 'auth-required' | 'not-oxen'; readonly origin: string; readonly status: number }
  | { readonly code: 'requests-answered'; readonly origin: string }
  | { readonly code: 'invalid-url'; readonly url: string }
  | { readonly code: 'cancelled' }
  | { readonly code: 'timeout'; readonly origin: string; readonly timeoutMs: number }
  | { readonly code: 'unreachable' | 'tls-failed'; readonly origin: string; readonly errno: string }
  | { readonly code: 'unrecognised'; readonly origin: string; readonly detail: string };

/** What {@link checkConnectivity} found, and why. */
export interface ConnectivityResult {
  readonly state: ConnectivityState;
  /** Why, as a code and facts (the apps word it). */
  readonly reason: ConnectivityReason;
  /** Epoch ms of the check. */
  readonly checkedAt: number;
  /** Round trip in ms, when the host answered. */
  readonly latencyMs?: number;
  /** The `oxen-version` the server reported, when it did. */
  readonly serverVersion?: string;
}

/** Options of {@link checkConnectivity}. */
export interface ConnectivityOptions {
  /** Give up after this long and report offline. @default 5000 */
  readonly timeoutMs?: number;
  /** Sent as `Authorization: Bearer` (oxen-server with auth guards /api/health too). Never logged. */
  readonly token?: string;
  /**
   * Test seam: a fetch that rewrites answers. By default the probe goes over node:http(s), as the
   * Hub client's requests do (same proxy settings, and no undici to load).
   */
  readonly fetch?: typeof fetch;
  readonly signal?: AbortSignal;
  readonly clock?: { now(): number };
}

const OFFLINE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

function codesOf(error: unknown): string[] {
  const codes: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current != null && depth < 8; depth++) {
    const node = current as { code?: unknown; name?: unknown; errors?: unknown; cause?: unknown };
    if (typeof node.code === 'string') codes.push(node.code);
    if (node.name === 'TimeoutError') codes.push('TIMEOUT');
    if (Array.isArray(node.errors)) for (const e of node.errors) codes.push(...codesOf(e));
    current = node.cause;
  }
  return codes;
}

/**
 * Asks the configured remote itself whether it can be reached: `GET <origin>/api/health`.
 * An answer from an Oxen server (the `oxen-version` header, or any 401/403 from the host) is
 * online; DNS failure, refusal, reset and timeout are offline; a TLS failure, a redirect or an
 * answer that is not Oxen's (a captive portal) is unknown. No public host, no ICMP.
 */
export async function checkConnectivity(
  remoteUrl: string,
  options: ConnectivityOptions = {},
): Promise<ConnectivityResult> {
  const clock = options.clock ?? Date;
  const transport: Transport = options.fetch ? fetchTransport(options.fetch) : nodeTransport;
  const timeoutMs = options.timeoutMs ?? 5000;
  const checkedAt = clock.now();
  let origin: string;
  try {
    origin = new URL(remoteUrl).origin;
  } catch {
    return { state: 'unknown', reason: { code: 'invalid-url', url: redactUrl(remoteUrl) }, checkedAt };
  }
  const signals = [AbortSignal.timeout(timeoutMs), ...(options.signal ? [options.signal] : [])];
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  try {
    // Redirects are not followed: a captive portal's redirect is an answer that is not Oxen's.
    const response = await transport({
      method: 'GET',
      url: new URL('/api/health', origin),
      headers,
      signal: AbortSignal.any(signals),
    });
    const latencyMs = clock.now() - checkedAt;
    // Bounded and cleaned as the Hub client keeps it: the header is the server's text.
    const header = response.header('oxen-version');
    const serverVersion = header ? clipServerText(header, 40) || undefined : undefined;
    response.discard();
    const base = { checkedAt, latencyMs, ...(serverVersion ? { serverVersion } : {}) };
    if (serverVersion) {
      return {
        ...base,
        state: 'online',
        reason: { code: 'oxen-answered', origin, status: response.status, serverVersion },
      };
    }
    if (response.status === 401 || response.status === 403) {
      return { ...base, state: 'online', reason: { code: 'auth-required', origin, status: response.status } };
    }
    return { ...base, state: 'unknown', reason: { code: 'not-oxen', origin, status: response.status } };
  } catch (error) {
    if (options.signal?.aborted) {
      return { state: 'unknown', reason: { code: 'cancelled' }, checkedAt };
    }
    const codes = codesOf(error);
    if (
      codes.includes('TIMEOUT') ||
      codes.includes('ABORT_ERR') ||
      codes.includes('UND_ERR_HEADERS_TIMEOUT')
    ) {
      return { state: 'offline', reason: { code: 'timeout', origin, timeoutMs }, checkedAt };
    }
    const offline = codes.find((c) => OFFLINE_CODES.has(c));
    if (offline)
      return { state: 'offline', reason: { code: 'unreachable', origin, errno: offline }, checkedAt };
    const tls = codes.find((c) => /CERT|TLS|SSL|SELF_SIGNED/.test(c));
    if (tls) return { state: 'unknown', reason: { code: 'tls-failed', origin, errno: tls }, checkedAt };
    const detail = error instanceof Error ? error.message : String(error);
    return { state: 'unknown', reason: { code: 'unrecognised', origin, detail }, checkedAt };
  }
}

/** Options of {@link createConnectivityChecker}. */
export interface ConnectivityCheckerOptions extends ConnectivityOptions {
  /** Reuse a result for this long, in ms. @default 10000 */
  readonly cacheMs?: number;
}

/** A connectivity check for one remote with a short-lived cache. */
export interface ConnectivityChecker {
  /** Returns the cached result while fresh, else checks. `force` skips the cache. */
  check(force?: boolean): Promise<ConnectivityResult>;
  /** The last result, if any. */
  readonly last: ConnectivityResult | undefined;
  /** Forgets the cached result (after a request failed with a network error, say). */
  invalidate(): void;
}

/** Creates a cached connectivity checker for `remoteUrl`. */
export function createConnectivityChecker(
  remoteUrl: string,
  options: ConnectivityCheckerOptions = {},
): ConnectivityChecker {
  const clock = options.clock ?? Date;
  const cacheMs = options.cacheMs ?? 10_000;
  let last: ConnectivityResult | undefined;
  let inFlight: Promise<ConnectivityResult> | undefined;
  return {
    async check(force = false) {
      if (!force && last && clock.now() - last.checkedAt < cacheMs) return last;
      inFlight ??= checkConnectivity(remoteUrl, options).finally(() => {
        inFlight = undefined;
      });
      last = await inFlight;
      return last;
    },
    get last() {
      return last;
    },
    invalidate() {
      last = undefined;
    },
  };
}
