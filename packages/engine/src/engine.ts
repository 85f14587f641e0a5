import { type Core, createCore, type LocalVerb } from './core.js';
import { guardLocks } from './guard.js';
import type { Session, Verb } from './session.js';
import type { Engine, EngineOptions } from './types.js';

// The engine is its verbs, split by noun as the CLI's commands are: each noun's module is loaded on
// first use, and the network verbs share one session (clients, policies, run-or-queue), itself
// loaded by the first of them. Adding a verb: its function in a noun's module, one line below (and
// its signature in `Engine`).

const lock = () => import('./verbs/lock.js');
const keepAlive = () => import('./verbs/keep-alive.js');
const transfer = () => import('./verbs/transfer.js');
const sync = () => import('./verbs/sync.js');
const auth = () => import('./verbs/auth.js');
const queue = () => import('./verbs/queue.js');
const notify = () => import('./verbs/notify.js');

/** Verbs that need only the core (no network): by verb, the module that has it. */
const LOCAL = {
  queueStatus: queue,
  queueRemove: queue,
  queueRetry: queue,
  queueClear: queue,
  whileAway: queue,
  notify,
} as const satisfies { readonly [V in keyof Engine]?: () => Promise<{ readonly [K in V]: LocalVerb<K> }> };

/** Verbs of the network half, given the session: by verb, the module that has it. */
const ONLINE = {
  connectivity: sync,
  sync,
  lockAcquire: lock,
  lockRelease: lock,
  lockRenew: lock,
  lockStatus: lock,
  lockList: lock,
  lockBreak: lock,
  heartbeat: keepAlive,
  keepAlive,
  markKeepAlive: keepAlive,
  stopKeepAlive: keepAlive,
  push: transfer,
  pull: transfer,
  commitTake: transfer,
  authLogin: auth,
  authStatus: auth,
  authLogout: auth,
} as const satisfies { readonly [V in keyof Engine]?: () => Promise<{ readonly [K in V]: Verb<K> }> };

type LocalName = keyof typeof LOCAL;
type OnlineName = keyof typeof ONLINE;

type AnyVerb = (first: unknown, ...args: unknown[]) => unknown;

/**
 * Creates the engine for one invocation (CLI command or TUI session). Everything is lazy: the
 * configuration and the queue are read on first use, and each verb's module (and, for the network
 * verbs, the session: locks, HTTP, oxen CLI) is loaded by the first call that needs it.
 */
export function createEngine(options: EngineOptions): Engine {
  const core: Core = createCore(options);
  let session: Promise<Session> | undefined;
  const net = () => {
    session ??= import('./session.js').then((m) => m.createSession(core));
    return session;
  };
  const verbs: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const [name, load] of Object.entries(LOCAL)) {
    verbs[name] = async (...args) =>
      ((await load()) as unknown as Record<string, AnyVerb>)[name]!(core, ...args);
  }
  for (const [name, load] of Object.entries(ONLINE)) {
    verbs[name] = async (...args) => {
      const [mod, s] = await Promise.all([load(), net()]);
      return (mod as unknown as Record<string, AnyVerb>)[name]!(s, ...args);
    };
  }
  const engine: Engine = {
    get config() {
      return core.getConfig();
    },
    paths: core.paths,
    get queue() {
      return core.getQueue();
    },
    project: core.getProject,
    knownLease: core.knownLease,
    ...(verbs as unknown as Pick<Engine, LocalName | OnlineName>),
  };
  // The read-only guard follows the lock where it changes hands (acquire, release, loss…).
  return guardLocks(engine, { options, stateDir: core.paths.stateDir, emit: core.emit });
}
