/** Oxen failures the CLI words itself: the library gives the code and the facts. */

/** The facts of an `OxenError` as the CLI receives it (structurally, not by class). */
interface OxenFacts {
  readonly name?: string;
  readonly code?: string;
  /** What is wrong with a remote URL (REMOTE_URL_INVALID). */
  readonly problem?: string;
  /** The remote URL, its credentials hidden. */
  readonly url?: string;
  /** NOT_A_REPOSITORY: the folder searched from. */
  readonly directory?: string;
  readonly message?: string;
  /** The HTTP status of the answer (AUTH: 401 or 403). */
  readonly status?: number;
  /** The request that failed, `METHOD URL` (the Hub client's; oxen's own runs have none). */
  readonly request?: string;
  /** The remote's origin, when the request is not known (a failure stored with a queued entry). */
  readonly origin?: string;
}

/** The origin a request went to (`http://host:port`), from its `METHOD URL`; undefined when unknown. */
function originOf(request: string | undefined): string | undefined {
  try {
    return new URL(request?.split(' ')[1] ?? '').origin;
  } catch {
    return undefined;
  }
}

/** What is wrong with a remote URL, said after it; the same remedies as the flags' help. */
function remoteUrlWords(e: OxenFacts): string | undefined {
  const url = `The remote URL "${e.url ?? '?'}"`;
  switch (e.problem) {
    case 'not-a-url':
      return `${url} is not a URL; expected http(s)://host[:port]/<namespace>/<repo>; fix the repository's remote or --remote.`;
    case 'credentials':
      return `${url} carries credentials; remove them from the URL and store the token with \`oxenvcs auth login\`.`;
    case 'not-a-repository-url':
      return `${url} is not of the form http(s)://host[:port]/<namespace>/<repo>; fix the repository's remote or --remote.`;
    default:
      return undefined;
  }
}

/**
 * The words for an Oxen failure whose remedy belongs to the CLI (it names the CLI's flags and
 * commands), or undefined to keep the library's message. Only a command that failed is worded
 * here (a queued entry's failure is worded from what the queue stored).
 */
export function oxenErrorWords(e: OxenFacts): string | undefined {
  if (e.name !== 'OxenError') return undefined;
  switch (e.code) {
    // Failures no wait can cure, so a command never queues on them: it says so.
    case 'TLS_FAILED':
    case 'HEADERS_TOO_LARGE':
    case 'PROTOCOL_ERROR':
    case 'PROXY_AUTH':
      return e.message === undefined ? undefined : `${e.message.replace(/\.$/, '')} (nothing was queued).`;
    // The same words whether oxvcs or oxen was refused, with the command that stores a token.
    case 'AUTH':
      return e.status === 403
        ? `${originOf(e.request) ?? e.origin ?? 'The remote'} refused the credentials (HTTP 403): the token stored for it may not do this; store one that may with \`oxenvcs auth login\`.`
        : `${originOf(e.request) ?? e.origin ?? 'The remote'} refused the credentials (HTTP ${e.status ?? 401}): the token stored for it is missing or not valid; store one with \`oxenvcs auth login\`.`;
    case 'NOT_A_REPOSITORY':
      return e.directory === undefined
        ? undefined
        : `No Oxen repository at ${e.directory} or above it; run this inside a project (or pass --project).`;
    case 'REMOTE_URL_INVALID':
      return remoteUrlWords(e);
    case 'NON_FAST_FORWARD':
      // Oxen refuses a push whose branch is behind the remote's (someone pushed first).
      return 'Not pushed: the remote branch has commits this copy does not have (someone else pushed first), so it was left as it is; run `oxenvcs pull`, then push again.';
    default:
      return undefined;
  }
}
