import { existsSync, realpathSync, statSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { loadMachineId, normaliseKey } from '@oxvcs/locks';
import {
  findRepositoryRoot,
  OxenError,
  oxenConfigDir,
  parseRemoteUrl,
  type RemoteRef,
  readOxenUserName,
  readRepositoryRemote,
} from '@oxvcs/oxen';
import { inputError } from './input.js';

/** The project a command acts on. */
export interface ProjectInfo {
  /** The Oxen repository root. */
  readonly root: string;
  /** The lock key: `--project` relative to the root, `.` for the repository itself. */
  readonly key: string;
  readonly remote: RemoteRef;
  /** The remote's name in the repository config, when it is configured there. */
  readonly remoteName?: string;
  /** The holder name ({@link holderIdentity}). */
  readonly holder: string;
  readonly machineId: string;
  /** False when `--project` names a folder this copy does not have (allowed for status and break). */
  readonly keyExists: boolean;
}

/** The longest holder name accepted, in characters. */
const MAX_HOLDER = 200;
// biome-ignore lint/suspicious/noControlCharactersInRegex: a holder name is one plain line
const unfitHolder = (name: string) => /[\u0000-\u001f\u007f-\u009f]/.test(name) || name.length > MAX_HOLDER;

/**
 * The holder identity: `OXENVCS_HOLDER`, else the name given to Oxen (`oxen config --name`, read
 * from Oxen's `user_config.toml`, so collaborators see the name they know), else `user@host`.
 */
export function holderIdentity(env: NodeJS.ProcessEnv): string {
  if (env.OXENVCS_HOLDER) {
    if (unfitHolder(env.OXENVCS_HOLDER)) {
      const long = env.OXENVCS_HOLDER.length > MAX_HOLDER;
      throw inputError({
        field: 'OXENVCS_HOLDER',
        problem: long ? 'too-long' : 'control-character',
        value: env.OXENVCS_HOLDER,
        ...(long ? { limit: MAX_HOLDER } : {}),
      });
    }
    return env.OXENVCS_HOLDER;
  }
  // Oxen's file is not ours to refuse: a name unfit for a lock record is passed over.
  const oxenName = readOxenUserName(oxenConfigDir(env));
  if (oxenName !== undefined && !unfitHolder(oxenName)) return oxenName;
  let user = env.USER || env.LOGNAME || '';
  try {
    user ||= userInfo().username;
  } catch {
    user ||= 'user';
  }
  return `${user}@${hostname().split('.')[0]}`;
}

/** Where project discovery starts: `--project`, else the working directory. */
const startOf = (options: { cwd: string; project?: string }) => resolve(options.cwd, options.project ?? '.');

/**
 * The lock key of `--project DIR`: DIR must be an existing folder inside the repository (a typo
 * is refused, not locked); symlinks are resolved, so every path to one folder is one key, and
 * the key is Unicode-normalised and case-folded by `normaliseKey`.
 */
function projectKey(root: string, start: string, given: string): { key: string; exists: boolean } {
  let real: string;
  let exists = true;
  try {
    real = realpathSync(start);
  } catch {
    // A folder this copy does not have (someone else's, not pushed yet) can still be named to
    // see or break its lock; acquiring one needs it to exist (lockAcquire checks `keyExists`).
    exists = false;
    real = resolve(realpathSync(root), relative(root, start));
  }
  if (exists && !statSync(real).isDirectory())
    throw inputError({ field: 'project', problem: 'not-a-folder', value: given });
  const inside = relative(realpathSync(root), real);
  if (inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside))
    throw inputError({ field: 'project', problem: 'outside-repository', value: given, repository: root });
  return { key: normaliseKey(inside.split(sep).join('/') || '.'), exists };
}

/**
 * The repository: found from `--project` (its nearest existing folder), else from the working
 * directory. A `--project` outside the repository of the working directory is bad input (exit 2),
 * not "no repository".
 */
function findProjectRoot(options: { cwd: string; project?: string }, start: string): string {
  if (!options.project) return findRepositoryRoot(start);
  let probe = start;
  while (!existsSync(probe) && dirname(probe) !== probe) probe = dirname(probe);
  try {
    return findRepositoryRoot(probe);
  } catch (error) {
    let here: string | undefined;
    try {
      here = findRepositoryRoot(resolve(options.cwd));
    } catch {}
    if (!here) throw error;
    throw inputError({
      field: 'project',
      problem: 'outside-repository',
      value: options.project,
      repository: here,
    });
  }
}

/** The repository around `--project` (or the working directory); NOT_A_REPOSITORY otherwise. */
export function projectRoot(options: { cwd: string; project?: string }): string {
  return findRepositoryRoot(startOf(options));
}

/**
 * Finds the repository from `--project` (or the working directory), its remote (or `--remote`),
 * the lock key and the holder. `--project` inside the repository makes the key that sub-path.
 */
export function resolveProject(options: {
  cwd: string;
  env: NodeJS.ProcessEnv;
  stateDir: string;
  project?: string;
  remote?: string;
}): ProjectInfo {
  const start = startOf(options);
  const root = findProjectRoot(options, start);
  const named = options.project ? projectKey(root, start, options.project) : { key: '.', exists: true };
  const key = named.key;
  let remoteUrl: string;
  let remoteName: string | undefined;
  if (options.remote) {
    remoteUrl = options.remote;
    try {
      const configured = readRepositoryRemote(root);
      if (configured.url.replace(/\/+$/, '') === options.remote.replace(/\/+$/, ''))
        remoteName = configured.name;
    } catch (error) {
      if (!(error instanceof OxenError) || error.code !== 'NO_REMOTE') throw error;
    }
  } else {
    const configured = readRepositoryRemote(root);
    remoteUrl = configured.url;
    remoteName = configured.name;
  }
  const remote = parseRemoteUrl(remoteUrl);
  return {
    root,
    key,
    remote,
    ...(remoteName ? { remoteName } : {}),
    keyExists: named.exists,
    holder: holderIdentity(options.env),
    machineId: loadMachineId(options.stateDir),
  };
}
