import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { findRepositoryRoot, readTomlFile } from '@oxvcs/oxen';
import envPaths from 'env-paths';
import { EngineError } from './errors.js';
import { type InputProblem, inputError } from './input.js';
import { MAX_LEASE_HOURS, MIN_LEASE_HOURS } from './lease.js';

/** The merged configuration. */
export interface Config {
  readonly retry: {
    readonly max_retries: number;
    readonly initial_backoff_ms: number;
    readonly max_backoff_ms: number;
  };
  readonly connectivity: {
    readonly timeout_ms: number;
    readonly cache_seconds: number;
    readonly request_timeout_ms: number;
    readonly transfer_timeout_seconds: number;
  };
  readonly lock: {
    readonly timeout_hours: number;
    readonly auto_renew: boolean;
    readonly renew_before_minutes: number;
    /** Renew every … seconds; 0: a third of the lease (or earlier by `renew_before_minutes`). */
    readonly heartbeat_interval_seconds: number;
    /** `lock acquire` starts a background keep-alive unless `--no-keep-alive`. */
    readonly keep_alive: boolean;
    /** `lock acquire --wait` looks at the line every … seconds (a read; a write only to keep the place). */
    readonly wait_poll_seconds: number;
    /**
     * The read-only guard: while you do not hold the project's lock its files are read-only on
     * disk (set it in the repository's `.oxenvcs/config.toml` to turn it on for that repository).
     */
    readonly read_only_guard: boolean;
  };
  readonly queue: {
    readonly auto_sync: boolean;
    readonly max_attempts: number;
    readonly retention_days: number;
  };
  readonly transfer: {
    /**
     * The part size of a take (`oxenvcs commit` without `--part-size`), in MB; a push that sends
     * a commit larger than this says it cannot resume midway.
     */
    readonly part_size_mb: number;
  };
  readonly ui: {
    readonly colour: boolean;
    readonly emoji: boolean;
    /** Desktop notifications (a waited-for lock granted, a keep-alive losing the lock). */
    readonly notifications: boolean;
  };
}

type Kind = 'int' | 'number' | 'bool';
const SCHEMA: Record<string, Record<string, { kind: Kind; min: number; max?: number }>> = {
  retry: {
    max_retries: { kind: 'int', min: 0, max: 20 },
    initial_backoff_ms: { kind: 'int', min: 1 },
    max_backoff_ms: { kind: 'int', min: 1 },
  },
  connectivity: {
    timeout_ms: { kind: 'int', min: 100, max: 120_000 },
    cache_seconds: { kind: 'number', min: 0 },
    request_timeout_ms: { kind: 'int', min: 100, max: 600_000 },
    transfer_timeout_seconds: { kind: 'number', min: 1 },
  },
  lock: {
    timeout_hours: { kind: 'number', min: MIN_LEASE_HOURS, max: MAX_LEASE_HOURS },
    auto_renew: { kind: 'bool', min: 0 },
    renew_before_minutes: { kind: 'number', min: 0 },
    heartbeat_interval_seconds: { kind: 'number', min: 0 },
    keep_alive: { kind: 'bool', min: 0 },
    wait_poll_seconds: { kind: 'number', min: 0.1, max: 600 },
    read_only_guard: { kind: 'bool', min: 0 },
  },
  queue: {
    auto_sync: { kind: 'bool', min: 0 },
    max_attempts: { kind: 'int', min: 1, max: 1000 },
    retention_days: { kind: 'number', min: 0.001 },
  },
  transfer: {
    // 1 TB: larger is one part for any take, and 1e303 MB made the part size Infinity bytes.
    part_size_mb: { kind: 'number', min: 1, max: 1_000_000 },
  },
  ui: {
    colour: { kind: 'bool', min: 0 },
    emoji: { kind: 'bool', min: 0 },
    notifications: { kind: 'bool', min: 0 },
  },
};

/** Defaults (the original's: lock ops 5 retries 1 s → 15 s, 4 h locks, 5 s connectivity timeout). */
export const DEFAULT_CONFIG: Config = {
  retry: { max_retries: 5, initial_backoff_ms: 1000, max_backoff_ms: 15_000 },
  connectivity: {
    timeout_ms: 5000,
    cache_seconds: 10,
    request_timeout_ms: 10_000,
    transfer_timeout_seconds: 600,
  },
  lock: {
    timeout_hours: 4,
    auto_renew: true,
    renew_before_minutes: 30,
    heartbeat_interval_seconds: 0,
    keep_alive: false,
    wait_poll_seconds: 5,
    read_only_guard: false,
  },
  queue: { auto_sync: true, max_attempts: 10, retention_days: 7 },
  transfer: { part_size_mb: 200 },
  ui: { colour: true, emoji: true, notifications: true },
};

/** Where oxvcs keeps its files. */
export interface Paths {
  /** State: queue, machine id, grants. `OXENVCS_HOME`, else the platform's data dir. */
  readonly stateDir: string;
  /** The user config file. */
  readonly userConfig: string;
}

/**
 * What is wrong with a state folder, if anything: `OXENVCS_HOME` must be absolute (a relative one
 * would follow the working directory, into a project), and no state folder may be inside an Oxen
 * repository, where `oxen add .` would commit the lease private keys it holds.
 */
export function checkStateDir(stateDir: string, fromEnv: boolean): InputProblem | undefined {
  if (fromEnv && !isAbsolute(stateDir))
    return { field: 'OXENVCS_HOME', problem: 'relative', value: stateDir };
  // The folder may not exist yet: its nearest existing ancestor says where it would be made.
  let probe = stateDir;
  while (!existsSync(probe) && dirname(probe) !== probe) probe = dirname(probe);
  let repository: string | undefined;
  try {
    repository = findRepositoryRoot(probe);
  } catch {
    return undefined;
  }
  return { field: 'OXENVCS_HOME', problem: 'inside-repository', value: stateDir, repository };
}

/**
 * `OXENVCS_HOME` holds everything when set; else env-paths' conventional places. INVALID_INPUT
 * (see {@link checkStateDir}) for a relative `OXENVCS_HOME` or a state folder inside a repository.
 */
export function resolvePaths(env: NodeJS.ProcessEnv): Paths {
  const home = env.OXENVCS_HOME;
  const paths = home
    ? { stateDir: home, userConfig: join(home, 'config.toml') }
    : (() => {
        const p = envPaths('oxenvcs', { suffix: '' });
        return { stateDir: p.data, userConfig: join(p.config, 'config.toml') };
      })();
  const problem = checkStateDir(paths.stateDir, home !== undefined && home !== '');
  if (problem) throw inputError(problem);
  return paths;
}

function coerce(kind: Kind, value: unknown): unknown {
  if (kind === 'bool') {
    if (typeof value === 'boolean') return value;
    if (value === 'true' || value === '1' || value === 'yes') return true;
    if (value === 'false' || value === '0' || value === 'no') return false;
    return undefined;
  }
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && value.trim() !== ''
        ? Number(value)
        : Number.NaN;
  if (!Number.isFinite(n)) return undefined;
  if (kind === 'int' && !Number.isInteger(n)) return undefined;
  return n;
}

function applyLayer(
  target: Record<string, Record<string, unknown>>,
  layer: Record<string, unknown>,
  source: string,
) {
  for (const [section, values] of Object.entries(layer)) {
    const spec = SCHEMA[section];
    if (!spec) {
      throw new EngineError(
        'CONFIG_INVALID',
        `Unknown section [${section}] in ${source}; known sections: ${Object.keys(SCHEMA).join(', ')}.`,
        {
          file: source,
          field: section,
        },
      );
    }
    if (typeof values !== 'object' || values === null) {
      throw new EngineError('CONFIG_INVALID', `[${section}] in ${source} must be a table.`, {
        file: source,
        field: section,
      });
    }
    for (const [key, raw] of Object.entries(values as Record<string, unknown>)) {
      const rule = spec[key];
      if (!rule) {
        throw new EngineError(
          'CONFIG_INVALID',
          `Unknown key ${section}.${key} in ${source}; known keys of [${section}]: ${Object.keys(spec).join(', ')}.`,
          { file: source, field: `${section}.${key}` },
        );
      }
      const value = coerce(rule.kind, raw);
      const wanted =
        rule.kind === 'bool'
          ? 'true or false'
          : rule.kind === 'int'
            ? `a whole number ≥ ${rule.min}`
            : `a number ≥ ${Number(rule.min.toPrecision(3))}`;
      if (
        value === undefined ||
        (typeof value === 'number' && (value < rule.min || (rule.max !== undefined && value > rule.max)))
      ) {
        throw new EngineError(
          'CONFIG_INVALID',
          `${section}.${key} in ${source} must be ${wanted}${rule.max !== undefined ? ` and ≤ ${rule.max}` : ''} (got ${JSON.stringify(raw)}).`,
          { file: source, field: `${section}.${key}` },
        );
      }
      target[section]![key] = value;
    }
  }
}

function readLayer(file: string): Record<string, unknown> | undefined {
  return existsSync(file) ? readTomlFile(file) : undefined;
}

/** Flags that map onto config keys. */
export interface ConfigOverrides {
  readonly [section: string]: { readonly [key: string]: unknown };
}

/**
 * Merges, key by key: defaults < user file < project file (`.oxenvcs/config.toml`) <
 * environment (`OXENVCS_<SECTION>_<KEY>`, e.g. `OXENVCS_LOCK_TIMEOUT_HOURS`) < flags.
 * Every value is validated; an error names the key and where it came from.
 */
export function loadConfig(options: {
  env: NodeJS.ProcessEnv;
  projectRoot?: string;
  overrides?: ConfigOverrides;
}): Config {
  const merged = structuredClone(DEFAULT_CONFIG) as unknown as Record<string, Record<string, unknown>>;
  const { userConfig } = resolvePaths(options.env);
  const user = readLayer(userConfig);
  if (user) applyLayer(merged, user, userConfig);
  if (options.projectRoot) {
    const file = join(options.projectRoot, '.oxenvcs', 'config.toml');
    const project = readLayer(file);
    if (project) applyLayer(merged, project, file);
  }
  const fromEnv: Record<string, Record<string, unknown>> = {};
  for (const [section, keys] of Object.entries(SCHEMA)) {
    for (const key of Object.keys(keys)) {
      const name = `OXENVCS_${section}_${key}`.toUpperCase();
      const value = options.env[name];
      if (value === undefined || value === '') continue;
      fromEnv[section] ??= {};
      fromEnv[section][key] = value;
    }
  }
  applyLayer(merged, fromEnv, 'the environment (OXENVCS_*)');
  if (options.overrides) applyLayer(merged, options.overrides as Record<string, unknown>, 'the command line');
  return merged as unknown as Config;
}
