import { LockError } from './errors.js';

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
