import type { ConnectivityReason, EngineErrorCode } from '@oxvcs/engine';
import { connectivityWords, type InputFacts, inputWords, keyName } from './render.js';

/** Engine failures the CLI words itself: the engine gives the code and the facts. */

/** The facts of an `EngineError` as the CLI receives it (structurally, not by class). */
interface EngineFacts {
  readonly name?: string;
  readonly code?: string;
  readonly problem?: string;
  readonly origin?: string;
  readonly operation?: string;
  readonly timeoutMs?: number;
  readonly connectivity?: ConnectivityReason;
  readonly pid?: number;
  readonly key?: string;
}

/** The command a verb's operation name stands for: `lock-status` → `lock status`. */
const commandOf = (operation: string) => operation.replace(/-/g, ' ');

/**
 * The words for an engine failure whose wording belongs to the CLI (it names commands, flags or
 * settings), or undefined to keep the engine's message. Every code is listed: the compiler finds
 * one added to the engine and not yet considered here.
 */
export function engineErrorWords(e: EngineFacts): string | undefined {
  if (e.name !== 'EngineError') return undefined;
  const code = e.code as EngineErrorCode;
  switch (code) {
    case 'INVALID_INPUT':
      // Input the engine's rules refused comes as a field and a problem.
      return typeof e.problem === 'string' ? inputWords(e as unknown as InputFacts) : undefined;
    case 'OFFLINE': {
      // "is unreachable (ECONNREFUSED)", not "is unreachable (… is unreachable (ECONNREFUSED))".
      const c = e.connectivity;
      const why =
        c?.code === 'unreachable' ? c.errno : c ? connectivityWords(c).replace(/\.$/, '') : undefined;
      if (e.origin === undefined || e.operation === undefined) return why;
      return `${e.origin} is unreachable${why ? ` (${why})` : ''}; ${commandOf(e.operation)} needs the remote, so try again when you are back online.`;
    }
    case 'DEADLINE':
      return e.origin === undefined || e.operation === undefined || e.timeoutMs === undefined
        ? undefined
        : `${e.origin} did not answer ${commandOf(e.operation)} within ${Math.round(e.timeoutMs / 100) / 10} s; try again, or raise connectivity.request_timeout_ms.`;
    case 'KEEPALIVE_RUNNING':
      return `A keep-alive${e.pid === undefined ? '' : ` (pid ${e.pid})`} already renews the lock on ${keyName(e.key ?? '.')}; stop it with \`oxenvcs lock heartbeat --stop\` first.`;
    case 'CONFIG_INVALID':
    case 'PROJECT_GONE':
    case 'STATE_UNREADABLE':
    case 'STATE_NOT_A_FILE':
    case 'NOTHING_TO_COMMIT':
    case 'TAKE_INCOMPLETE':
    case 'WAIT_ENDED':
      // The engine's message names no command: it stands.
      return undefined;
    default:
      return unworded(code);
  }
}

/** A code this version does not know (a newer engine's): its message stands. Typed `never` so a new code fails typecheck. */
const unworded = (_code: never): undefined => undefined;
