import { hostname, userInfo } from 'node:os';
import { relative, resolve, sep } from 'node:path';
import { loadMachineId, normaliseKey } from '@oxvcs/locks';
import {
  findRepositoryRoot,
  OxenError,
  parseRemoteUrl,
  type RemoteRef,
  readRepositoryRemote,
} from '@oxvcs/oxen';

/** The project a command acts on. */
export interface ProjectInfo {
  /** The Oxen repository root. */
  readonly root: string;
  /** The lock key: `--project` relative to the root, `.` for the repository itself. */
  readonly key: string;
  readonly remote: RemoteRef;
  /** The remote's name in the repository config, when it is configured there. */
  readonly remoteName?: string;
  /** `user@host`. */
  readonly holder: string;
  readonly machineId: string;
}

/** The holder identity: `OXENVCS_HOLDER`, else `user@host`. */
export function holderIdentity(env: NodeJS.ProcessEnv): string {
  if (env.OXENVCS_HOLDER) return env.OXENVCS_HOLDER;
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
  const root = findRepositoryRoot(start);
  const key = options.project ? normaliseKey(relative(root, start).split(sep).join('/') || '.') : '.';
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
    holder: holderIdentity(options.env),
    machineId: loadMachineId(options.stateDir),
  };
}
