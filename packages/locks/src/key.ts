import { LockError } from './errors.js';

/** Branch prefix of every lock ticket. */
export const TICKET_ROOT = 'oxvcs-lock';

/**
 * Validates a lock key: the project path relative to the repository root, `.` for the
 * repository itself. `..`, absolute paths, and characters Oxen forbids in branch names
 * (`~ ^ : ? [ * \`, `@{`, control characters) are refused with a message saying what to do.
 * Returns the normalised key (forward slashes, no `./`, no trailing slash).
 */
export function normaliseKey(key: string | undefined): string {
  const raw = (key ?? '.').trim();
  if (raw === '' || raw === '.' || raw === './') return '.';
  if (raw.startsWith('/') || /^[A-Za-z]:[\\/]/.test(raw)) {
    throw new LockError(
      'INVALID_KEY',
      `The lock key "${raw}" is an absolute path; give the project path relative to the repository root.`,
      {
        key: raw,
      },
    );
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused here
  const forbidden = /[~^:?[*\\]|@\{|[\u0000-\u001f\u007f]/.exec(raw);
  if (forbidden) {
    throw new LockError(
      'INVALID_KEY',
      `The lock key "${raw}" contains "${forbidden[0]}", which Oxen does not allow in branch names; rename the project or lock its folder instead.`,
      { key: raw },
    );
  }
  const segments = raw.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) {
    throw new LockError(
      'INVALID_KEY',
      `The lock key "${raw}" leaves the repository (".."); give a path inside it.`,
      { key: raw },
    );
  }
  return segments.length === 0 ? '.' : segments.join('/');
}

/**
 * Encodes a normalised key into one branch-name segment, injectively: letters, digits and `-`
 * stay; every other byte becomes `_XX` (hex). `.` (the whole repository) is `_root`. No slash
 * survives, so two keys never share a ticket prefix.
 */
export function keySlug(key: string): string {
  if (key === '.') return '_root';
  let out = '';
  for (const byte of Buffer.from(key, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9-]/.test(ch) ? ch : `_${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The key a slug encodes (the inverse of {@link keySlug}), or undefined when it is no slug of ours. */
export function keyFromSlug(slug: string): string | undefined {
  if (slug === '_root') return '.';
  const bytes: number[] = [];
  for (let i = 0; i < slug.length; i++) {
    const ch = slug[i]!;
    if (/[A-Za-z0-9-]/.test(ch)) bytes.push(ch.charCodeAt(0));
    else if (ch === '_' && /^[0-9A-F]{2}$/.test(slug.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(slug.slice(i + 1, i + 3), 16));
      i += 2;
    } else return undefined;
  }
  const key = new TextDecoder('utf-8', { fatal: true });
  try {
    return key.decode(new Uint8Array(bytes));
  } catch {
    return undefined;
  }
}

/** Ticket branch `oxvcs-lock/<slug>/<N zero-padded to 10>`. */
export function ticketBranch(key: string, ticket: number): string {
  return `${TICKET_ROOT}/${keySlug(key)}/${String(ticket).padStart(10, '0')}`;
}

/** Parses a branch name into slug and ticket number, or undefined when it is not a ticket. */
export function parseTicketBranch(name: string): { slug: string; ticket: number } | undefined {
  const m = /^oxvcs-lock\/([A-Za-z0-9_-]+)\/(\d{10})$/.exec(name);
  return m ? { slug: m[1]!, ticket: Number(m[2]) } : undefined;
}
