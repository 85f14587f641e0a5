import { existsSync, mkdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { NOT_A_FILE_NAMES, readText, replaceFile, StateFileError } from '@oxvcs/durable';
import { parse, stringify } from 'smol-toml';
import { OxenError } from './errors.js';

/** Walks up from `from` to the folder holding `.oxen`; NOT_A_REPOSITORY when there is none. */
export function findRepositoryRoot(from: string): string {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, '.oxen'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) {
      // Where to run instead (a folder, a flag) is the caller's to say.
      throw new OxenError('NOT_A_REPOSITORY', `No Oxen repository at ${resolve(from)} or above it.`, {
        directory: resolve(from),
      });
    }
    dir = parent;
  }
}

/** Reads and parses a TOML file; CONFIG_INVALID names the file (and line) and says what to do. */
export function readTomlFile(file: string): Record<string, unknown> {
  let text: string | undefined;
  try {
    // A FIFO or a device is refused at once (never waited on); a link to a file is followed.
    text = readText(file, { followLinks: true });
  } catch (error) {
    throw new OxenError(
      'CONFIG_INVALID',
      error instanceof StateFileError
        ? `${file} is ${NOT_A_FILE_NAMES[error.kind]}, not a regular file; move it away, then run again.`
        : `Cannot read ${file}: ${(error as Error).message}; check its permissions.`,
      error instanceof StateFileError
        ? { cause: error, file, problem: 'not-a-file', fileKind: error.kind }
        : { cause: error, file, problem: 'unreadable' },
    );
  }
  if (text === undefined) {
    throw new OxenError('CONFIG_INVALID', `Cannot read ${file}: it does not exist.`, {
      file,
      problem: 'missing',
    });
  }
  try {
    return parse(text) as Record<string, unknown>;
  } catch (error) {
    const line = (error as { line?: number }).line;
    throw new OxenError(
      'CONFIG_INVALID',
      `${file} is not valid TOML${line ? ` (line ${line})` : ''}; fix it or remove it.`,
      { cause: error, file, problem: 'not-toml', ...(line ? { line } : {}) },
    );
  }
}

/** The remote a repository pushes to, from `<repo>/.oxen/config.toml` (`remote_name` and `[[remotes]]`). */
export function readRepositoryRemote(repoRoot: string, name?: string): { name: string; url: string } {
  const file = join(repoRoot, '.oxen', 'config.toml');
  if (!existsSync(file)) {
    throw new OxenError(
      'NO_REMOTE',
      `The repository at ${repoRoot} has no remote; set one with: oxen config --set-remote origin <url>.`,
      { file, directory: repoRoot, remoteName: name ?? 'origin' },
    );
  }
  const config = readTomlFile(file) as { remote_name?: unknown; remotes?: unknown };
  const wanted = name ?? (typeof config.remote_name === 'string' ? config.remote_name : 'origin');
  const remotes = Array.isArray(config.remotes)
    ? (config.remotes as Array<{ name?: unknown; url?: unknown }>)
    : [];
  const remote = remotes.find((r) => r.name === wanted);
  if (!remote || typeof remote.url !== 'string') {
    throw new OxenError(
      'NO_REMOTE',
      `No remote named '${wanted}' is set for ${repoRoot}; set one with: oxen config --set-remote ${wanted} <url>.`,
      { file, directory: repoRoot, remoteName: wanted },
    );
  }
  return { name: wanted, url: remote.url };
}

/** Oxen's config dir: `$OXEN_CONFIG_DIR`, else `~/.config/oxen`. */
export function oxenConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.OXEN_CONFIG_DIR || join(env.HOME || homedir(), '.config', 'oxen');
}

/**
 * The name given to Oxen with `oxen config --name` (`name` in `user_config.toml`, in Oxen's config
 * folder), or undefined when none is set. Only a label: a missing, unreadable or invalid file is
 * undefined, never an error, since Oxen itself needs it only to commit.
 */
export function readOxenUserName(configDir: string = oxenConfigDir()): string | undefined {
  const file = join(configDir, 'user_config.toml');
  if (!existsSync(file)) return undefined;
  try {
    const name = readTomlFile(file).name;
    return typeof name === 'string' && name.trim() !== '' ? name.trim() : undefined;
  } catch {
    return undefined;
  }
}

interface AuthConfig {
  default_host?: string;
  host_configs?: Array<{ host?: string; auth_token?: string }>;
  /** Keys this version does not know (a newer Oxen's): kept as they are on every write. */
  [key: string]: unknown;
}

const authFile = (configDir: string) => join(configDir, 'auth_config.toml');

/**
 * The auth config at `file` to rewrite, with its `host_configs` checked to be a list of tables:
 * anything else is CONFIG_INVALID `not-auth-config`, so the file is never rewritten from a guess.
 */
function readAuthForWrite(
  file: string,
): AuthConfig & { host_configs: NonNullable<AuthConfig['host_configs']> } {
  const config = readTomlFile(file) as AuthConfig;
  const hosts = config.host_configs ?? [];
  if (!Array.isArray(hosts) || hosts.some((h) => typeof h !== 'object' || h === null || Array.isArray(h))) {
    throw new OxenError(
      'CONFIG_INVALID',
      `${file} has a host_configs that is not a list of [[host_configs]] tables; fix it or move it away, then run again.`,
      { file, problem: 'not-auth-config' },
    );
  }
  return { ...config, host_configs: hosts };
}

/**
 * The token Oxen's auth config holds for `host` (`host:port`), or undefined. Real Oxen reads the
 * file whatever its mode, and CLIs before 0.50.2 wrote it 0644, so a file other users can read is
 * still used; `onReadableByOthers` is told (file and mode) so the caller can say `chmod 600`.
 */
export function readAuthToken(
  host: string,
  configDir: string = oxenConfigDir(),
  onReadableByOthers?: (facts: { file: string; mode: number }) => void,
): string | undefined {
  const file = authFile(configDir);
  if (!existsSync(file)) return undefined;
  const config = readTomlFile(file) as AuthConfig;
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077) onReadableByOthers?.({ file, mode });
  const hosts = Array.isArray(config.host_configs) ? config.host_configs : [];
  const token = hosts.find((h) => h?.host === host)?.auth_token;
  return typeof token === 'string' && token !== '' ? token : undefined;
}

function writeAuth(file: string, config: AuthConfig) {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  try {
    replaceFile(file, stringify(config as Record<string, unknown>), { mode: 0o600 });
  } catch (error) {
    // A link (a dotfiles setup) is read through but never replaced: its target keeps the tokens.
    if (!(error instanceof StateFileError)) throw error;
    throw new OxenError(
      'CONFIG_INVALID',
      `${file} is ${NOT_A_FILE_NAMES[error.kind]}, not a regular file, so the token is not written there; replace it with a regular file (a copy of what it points to, mode 600), then run again.`,
      { cause: error, file, problem: 'not-a-file', fileKind: error.kind },
    );
  }
}

/** Stores `token` for `host` in Oxen's auth config (mode 0600), keeping other hosts. The token never touches argv. */
export function writeAuthToken(host: string, token: string, configDir: string = oxenConfigDir()): string {
  const file = authFile(configDir);
  const config = existsSync(file) ? readAuthForWrite(file) : { host_configs: [] };
  const hosts = config.host_configs.filter((h) => h.host !== host);
  hosts.push({ host, auth_token: token });
  writeAuth(file, { ...config, default_host: config.default_host ?? 'hub.oxen.ai', host_configs: hosts });
  return file;
}

/** Removes the token for `host`; true when there was one. */
export function removeAuthToken(host: string, configDir: string = oxenConfigDir()): boolean {
  const file = authFile(configDir);
  if (!existsSync(file)) return false;
  const config = readAuthForWrite(file);
  const hosts = config.host_configs;
  const kept = hosts.filter((h) => h.host !== host);
  if (kept.length === hosts.length) return false;
  writeAuth(file, { ...config, host_configs: kept });
  return true;
}
