import { createQueue } from '@oxvcs/queue';
import { type Config, loadConfig, type Paths, resolvePaths } from './config.js';
import { legacyEntries, RULES } from './operations/index.js';
import { type ProjectInfo, projectRoot, resolveProject } from './project.js';
import { type GrantNote, grantId, readState, stateFiles } from './state.js';
import type { Engine, EngineEvent, EngineOptions, Queue } from './types.js';

/**
 * What every verb shares without the network: the invocation's options, its events, the state
 * files, and the project, configuration and queue, each read on first use (internal).
 */
export interface Core {
  readonly options: EngineOptions;
  readonly emit: (event: EngineEvent) => void;
  readonly paths: Paths;
  readonly files: ReturnType<typeof stateFiles>;
  /** The state folder (machine id, lease keys). */
  readonly stateDir: string;
  /** The project (throws NOT_A_REPOSITORY / NO_REMOTE / REMOTE_URL_INVALID with what to do). */
  readonly getProject: () => ProjectInfo;
  /** The repository around the working directory (or `--project`), if there is one. */
  readonly rootIfAny: () => string | undefined;
  readonly getConfig: () => Config;
  readonly getQueue: () => Queue;
  /** What this machine last knew of its lease on the current lock (a local note). */
  readonly knownLease: () => GrantNote | undefined;
}

/** A verb that needs only the core (no network): `Engine[V]` with the core first. */
export type LocalVerb<V extends keyof Engine> = Engine[V] extends (...args: infer A) => infer R
  ? (core: Core, ...args: A) => R
  : never;

/** The core of one invocation: nothing is read until it is asked for. */
export function createCore(options: EngineOptions): Core {
  const emit = options.onEvent ?? (() => {});
  const paths = resolvePaths(options.env);
  const files = stateFiles(paths.stateDir);
  let config: Config | undefined;
  let project: ProjectInfo | undefined;
  let queue: Queue | undefined;

  const getProject = () => {
    project ??= resolveProject({
      cwd: options.cwd,
      env: options.env,
      stateDir: paths.stateDir,
      ...(options.project ? { project: options.project } : {}),
      ...(options.remote ? { remote: options.remote } : {}),
    });
    return project;
  };
  const rootIfAny = () => {
    if (project) return project.root;
    try {
      return projectRoot({ cwd: options.cwd, ...(options.project ? { project: options.project } : {}) });
    } catch {
      return undefined;
    }
  };
  const getConfig = () => {
    if (config) return config;
    const root = rootIfAny();
    config = loadConfig({
      env: options.env,
      ...(root ? { projectRoot: root } : {}),
      ...(options.overrides ? { overrides: options.overrides } : {}),
    });
    return config;
  };
  const getQueue = () => {
    queue ??= createQueue({
      file: files.queue,
      rules: RULES,
      legacy: legacyEntries,
      defaultMaxAttempts: getConfig().queue.max_attempts,
      // Finished entries are kept for the retention period (at most 1,000); failed ones stay.
      retainFinishedMs: getConfig().queue.retention_days * 24 * 3_600_000,
      maxFinishedEntries: 1000,
      ...(options.command ? { command: options.command } : {}),
      onEvent: (event) => {
        if (event.type === 'lock-waiting') {
          emit({
            type: 'queue-busy',
            lock: `${event.file}.lock`,
            ...(event.holder ? { pid: event.holder.pid } : {}),
            ...(event.holder?.command ? { command: event.holder.command } : {}),
          });
        }
      },
    });
    return queue;
  };
  const knownLease = () => {
    const p = getProject();
    return readState<Record<string, GrantNote>>(files.grants, {})[grantId(p.remote.url, p.key)];
  };
  return {
    options,
    emit,
    paths,
    files,
    stateDir: paths.stateDir,
    getProject,
    rootIfAny,
    getConfig,
    getQueue,
    knownLease,
  };
}
