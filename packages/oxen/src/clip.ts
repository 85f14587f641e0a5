import { stripVTControlCharacters } from 'node:util';

// Its own module (not the HTTP client's): lock records and notifications clean text with it, and
// a command that reads only local state must not load the client to do so.

/** Longest excerpt of server-sent text (titles, error pages) kept in an error. */
const MAX_SAID = 300;

// A URL's user information: from its scheme to the last `@` before any space.
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s@]*@/gi;

/**
 * Text with the user and password of every URL in it hidden (`http://***@proxy:3128`): a tool or a
 * server may print the proxy or remote URL it was given, credentials and all.
 */
export function hideUrlCredentials(text: string): string {
  return text.replace(URL_CREDENTIALS, '$1***@');
}

/**
 * Server text made safe to keep and show: escape sequences and control characters removed, one
 * line, bounded, and no URL's credentials in it.
 */
export function clipServerText(text: string, max = MAX_SAID): string {
  let flat = '';
  for (const ch of stripVTControlCharacters(hideUrlCredentials(text))) {
    const c = ch.codePointAt(0) ?? 0;
    // C0, DEL and C1 controls (a lone ESC or CSI included) become a space.
    flat += c < 0x20 || (c >= 0x7f && c <= 0x9f) ? ' ' : ch;
    if (flat.length > max * 4) break;
  }
  flat = flat.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
