import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * A process as another process can recognise it later: a pid alone is not an identity (pids are
 * reused, within seconds in a container), so the process's start time as the kernel keeps it goes
 * with it, and the host it runs on.
 */
export interface ProcessIdentity {
  readonly pid: number;
  /** This machine's host name when recorded. */
  readonly host: string;
  /**
   * When the kernel started the process: on Linux the boot id and the start time in clock ticks
   * since boot (`/proc/<pid>/stat` field 22); on macOS and BSD the start time `ps` reports, in
   * whole seconds since the epoch. Absent where neither can be read (the identity is then the pid
   * alone, and a reused pid cannot be told apart).
   */
  readonly start?: string;
}

/** What {@link checkProcess} can say about a recorded process. */
export type ProcessCheck =
  /** The very process recorded is running (not a zombie). */
  | 'running'
  /** It is gone: no such pid, a zombie, or another process that reused the pid. */
  | 'gone'
  /** It runs but is stopped (SIGSTOP, a debugger): alive, and doing nothing. Linux only. */
  | 'stopped';

const HOST = hostname();

let bootId: string | undefined | null = null;
function linuxBootId(): string | undefined {
  if (bootId === null) {
    try {
      bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      bootId = undefined;
    }
  }
  return bootId;
}

/** `/proc/<pid>/stat` split after the command name (which may hold spaces or parentheses). */
function linuxStat(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Start time of `pid` on macOS/BSD from `ps` (its `lstart`, whole seconds); undefined when gone. */
function psStart(pid: number): string | undefined {
  try {
    // Loaded only here (macOS/BSD, another process): every command imports this module at start-up.
    const { execFileSync } = process.getBuiltinModule('node:child_process');
    const text = execFileSync('ps', ['-o', 'lstart=', '-p', String(pid)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { ...process.env, LC_ALL: 'C', TZ: 'UTC' },
    }).trim();
    const ms = Date.parse(`${text} UTC`);
    return text && Number.isFinite(ms) ? String(Math.round(ms / 1000)) : undefined;
  } catch {
    return undefined;
  }
}

/** How the kernel sees `pid` now: its start stamp and whether it is a zombie or stopped. */
function observe(pid: number): { start?: string; state: 'running' | 'zombie' | 'stopped' } | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (process.platform === 'linux') {
    const fields = linuxStat(pid);
    if (!fields) return undefined;
    const state =
      fields[0] === 'Z' || fields[0] === 'X' ? 'zombie' : fields[0] === 'T' ? 'stopped' : 'running';
    const boot = linuxBootId();
    const ticks = fields[19];
    return { state, ...(ticks ? { start: boot ? `${boot}:${ticks}` : ticks } : {}) };
  }
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  if (process.platform === 'win32') return { state: 'running' };
  const start = psStart(pid);
  return { state: 'running', ...(start ? { start } : {}) };
}

let own: ProcessIdentity | undefined;

/**
 * Linux stamps are exact to a clock tick (boot id and ticks of 1/100 s: a pid reused within the
 * tick its first process started in is not told apart, and reusing a pid takes the pid space to
 * wrap first). Elsewhere they are seconds from `ps`, or a
 * process's own estimate of its start: equal within 2 s (a pid reused within 2 s of the first
 * process's start is not a case a person meets).
 */
function sameStart(seen: string, recorded: string): boolean {
  if (seen === recorded) return true;
  // Linux: a stamp without the boot id (recorded as bare ticks by an older version).
  if (process.platform === 'linux') return !recorded.includes(':') && seen.endsWith(`:${recorded}`);
  const a = Number(seen);
  const b = Number(recorded);
  return Number.isFinite(a) && Number.isFinite(b) && Math.abs(a - b) <= 2;
}

/**
 * The identity of `pid` on this machine now (this process when omitted); undefined when no such
 * process runs. Cheap on Linux (one small read); on macOS it runs `ps` once (this process's own
 * identity is computed once and kept).
 */
export function identify(): ProcessIdentity;
export function identify(pid: number): ProcessIdentity | undefined;
export function identify(pid: number = process.pid): ProcessIdentity | undefined {
  if (pid === process.pid && own) return own;
  if (pid === process.pid && process.platform !== 'linux' && process.platform !== 'win32') {
    // No `ps` for ourselves: the start as `ps` would report it, within a second (compared with
    // that tolerance, see sameStart).
    own = { pid, host: HOST, start: String(Math.round((Date.now() - process.uptime() * 1000) / 1000)) };
    return own;
  }
  const seen = observe(pid);
  // This process runs, whatever /proc says (not mounted in some sandboxes).
  if (pid === process.pid && (!seen || seen.state === 'zombie')) {
    own = { pid, host: HOST };
    return own;
  }
  if (!seen || seen.state === 'zombie') return undefined;
  const identity = { pid, host: HOST, ...(seen.start ? { start: seen.start } : {}) };
  if (pid === process.pid) own = identity;
  return identity;
}

/**
 * Whether the process `recorded` names is still the one running on this machine: a pid reused by
 * another process (a different start time) is `gone`, as is a zombie. A record without a start
 * time (written by an older version) is judged by its pid alone. The host name is not compared
 * (a laptop's changes with the network): callers that share files between machines compare it.
 */
export function checkProcess(
  recorded: Pick<ProcessIdentity, 'pid'> & Partial<ProcessIdentity>,
): ProcessCheck {
  if (recorded.pid === process.pid) {
    const mine = identify()?.start;
    if (recorded.start === undefined || mine === undefined || sameStart(mine, recorded.start))
      return 'running';
    return 'gone';
  }
  const seen = observe(recorded.pid);
  if (!seen || seen.state === 'zombie') return 'gone';
  if (recorded.start !== undefined && seen.start !== undefined && !sameStart(seen.start, recorded.start))
    return 'gone';
  return seen.state;
}

/** True while the recorded process runs (running or stopped) on this machine; see {@link checkProcess}. */
export function isRunning(recorded: Pick<ProcessIdentity, 'pid'> & Partial<ProcessIdentity>): boolean {
  const check = checkProcess(recorded);
  return check === 'running' || check === 'stopped';
}

/**
 * Sends `signal` to the recorded process only if it is still that process (same start time, this
 * host); true when sent. A pid reused by another program (on a Mac it could be Logic Pro) is never
 * signalled.
 */
export function signalProcess(
  recorded: Pick<ProcessIdentity, 'pid'> & Partial<ProcessIdentity>,
  signal: NodeJS.Signals,
): boolean {
  if (recorded.start === undefined || !isRunning(recorded)) return false;
  try {
    process.kill(recorded.pid, signal);
    return true;
  } catch {
    return false;
  }
}
