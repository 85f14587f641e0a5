import { LockError } from './errors.js';

/**
 * Validates and canonicalises a lock key: the project path relative to the repository root, `.`
 * for the repository itself. Absolute paths, `..` and control characters are refused with a
 * message saying what to do. The key is Unicode-normalised (NFC: macOS writes NFD names) and
 * case-folded, always: one folder is one key on every machine, whether its disk is
 * case-insensitive (macOS's default) or not. Returns forward slashes, no `./`, no trailing slash.
 */
export function normaliseKey(key: string | undefined): string {
  // Not trimmed: a folder may end in a space, and a key must map to itself when normalised again.
  const raw = key ?? '.';
  if (raw.trim() === '' || raw === '.' || raw === './') return '.';
  if (raw.startsWith('/') || /^[A-Za-z]:[\\/]/.test(raw)) {
    throw new LockError(
      'INVALID_KEY',
      `The lock key "${raw}" is an absolute path; give the project path relative to the repository root.`,
      { key: raw },
    );
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused here
  if (/[\u0000-\u001f\u007f-\u009f]/.test(raw)) {
    throw new LockError(
      'INVALID_KEY',
      'The lock key contains a control character; rename the folder or lock the folder around it.',
      { key: raw.replace(/[^\x20-\x7e]/g, '?') },
    );
  }
  const segments = raw
    .replace(/\\/g, '/')
    .split('/')
    .filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) {
    throw new LockError(
      'INVALID_KEY',
      `The lock key "${raw}" leaves the repository (".."); give a path inside it.`,
      { key: raw },
    );
  }
  return segments.length === 0 ? '.' : segments.join('/').normalize('NFC').toLowerCase().normalize('NFC');
}
