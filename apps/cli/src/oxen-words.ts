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
 * commands), or undefined to keep the library's message.
 */
export function oxenErrorWords(e: OxenFacts): string | undefined {
  if (e.name !== 'OxenError') return undefined;
  switch (e.code) {
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
