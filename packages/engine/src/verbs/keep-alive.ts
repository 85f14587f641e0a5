import { rmSync } from 'node:fs';
import { identify, isRunning, signalProcess } from '@oxvcs/durable';
import { type Lease, LockError, startHeartbeat } from '@oxvcs/locks';
import { clipServerText } from '@oxvcs/oxen';
import { classify, isRetryable } from '@oxvcs/retry';
import { EngineError } from '../errors.js';
import { heartbeatFile } from '../lock-state.js';
import type { Verb } from '../session.js';
import { grantId, type HeartbeatNote, noteEndsMs, readState, writeState } from '../state.js';

// The keep-alive verbs: renew the lock in the background, and find, record and stop that process.

/** Where a command asking a keep-alive to stop says who it is (`{by}`), beside the keep-alive's note. */
const stopFileOf = (note: string) => note.replace(/\.json$/, '.stop.json');

/** `Engine.heartbeat`. */
export const heartbeat: Verb<'heartbeat'> = async (s, o) => {
  const p = s.getProject();
  const manager = s.locksFor(p.remote.url);
  const file = heartbeatFile(s.files.heartbeats, p.remote.url, p.key);
  const running = readState<HeartbeatNote | undefined>(file, undefined);
  if (
    running &&
    running.pid !== process.pid &&
    isRunning(running) &&
    (running.state === 'healthy' || running.state === 'jeopardy')
  ) {
    throw new EngineError('KEEPALIVE_RUNNING', `A keep-alive (pid ${running.pid}) already renews the lock.`, {
      pid: running.pid,
      key: p.key,
    });
  }
  // Started while offline: keep the lease we last saw alive from the cached grant, in
  // jeopardy, renewing as soon as the remote answers (never past the lease's end).
  let lease: Lease | undefined;
  let offline = false;
  /**
   * A keep-alive started in the background (its note, naming this process, written by the command
   * that started it) that cannot start says why in that note, as one that lost the lock would:
   * otherwise the note it leaves says healthy, and `lock status` never tells it did not run.
   */
  const cannotStart = (error: unknown): unknown => {
    const mine = readState<HeartbeatNote | undefined>(file, undefined);
    if (mine?.pid === process.pid && mine.state === 'healthy') {
      const reason = (error as { message?: unknown } | undefined)?.message;
      s.saveCache(file, {
        ...mine,
        state: 'lost',
        updatedAt: new Date().toISOString(),
        ...(typeof reason === 'string' ? { reason: clipServerText(reason, 300) } : {}),
      } satisfies HeartbeatNote);
    }
    return error;
  };
  try {
    const status = await manager.status(p.key, { signal: o.signal });
    if (status.state !== 'held-by-you') {
      const other = status.state === 'held-by-other' || status.state === 'expired' ? status.lease : undefined;
      throw new LockError(
        'NOT_HOLDER',
        `You do not hold the lock on ${p.key === '.' ? 'this project' : p.key} (${
          other
            ? `${status.state === 'expired' ? 'it expired; last held by' : 'held by'} ${other.holder}`
            : `it is ${status.state.replace(/-/g, ' ')}`
        }), so there is nothing to keep alive; acquire it first.`,
        { key: p.key, ...(other ? { holder: other.holder, expiresAt: other.expiresAt } : {}) },
      );
    }
    lease = status.lease;
  } catch (error) {
    const note = s.grants()[grantId(p.remote.url, p.key)];
    if (!isRetryable(classify(error).kind) || !note || !(noteEndsMs(note) > Date.now()))
      throw cannotStart(error);
    offline = true;
    const now = new Date().toISOString();
    lease = {
      key: p.key,
      lockId: '',
      holder: note.holder,
      machineId: p.machineId,
      acquiredAt: now,
      expiresAt: note.expiresAt,
      lastHeartbeat: now,
      ttlMs: note.ttlMs,
      fencingToken: note.fencingToken,
      ticket: 0,
    };
  }
  const ttlMs = o.ttlHours ? s.ttlFrom(o.ttlHours) : lease.ttlMs;
  // Renew at a third of the lease (etcd's keepalive), sooner when `renew_before_minutes` asks
  // for more margin; a lease shorter than that margin keeps the third.
  const beforeEnd = ttlMs - s.getConfig().lock.renew_before_minutes * 60_000;
  const configured = s.getConfig().lock.heartbeat_interval_seconds * 1000;
  const intervalMs =
    configured > 0
      ? Math.max(250, configured)
      : Math.max(1000, Math.floor(beforeEnd > 0 ? Math.min(ttlMs / 3, beforeEnd) : ttlMs / 3));
  const publish = (state: HeartbeatNote['state'], failures: number, expiresAt?: string, reason?: string) => {
    const note = {
      remote: p.remote.url,
      key: p.key,
      state,
      failures,
      ...identify(),
      updatedAt: new Date().toISOString(),
      ...(expiresAt ? { expiresAt } : {}),
      ...(state === 'healthy' ? { nextRenewalAt: new Date(Date.now() + intervalMs).toISOString() } : {}),
      ...(reason ? { reason: clipServerText(reason, 300) } : {}),
    } satisfies HeartbeatNote;
    s.saveCache(file, note);
    s.saveCache(s.files.heartbeat, note);
  };
  // A stop request left by an earlier keep-alive of this lock is not this one's.
  rmSync(stopFileOf(file), { force: true });
  publish(offline ? 'jeopardy' : 'healthy', offline ? 1 : 0, lease.expiresAt);
  let lastExpiry = lease.expiresAt;
  const hb = startHeartbeat(manager, {
    key: p.key,
    ttlMs,
    grant: { ...lease, alreadyHeld: true },
    intervalMs,
    signal: o.signal,
    ...(offline ? { initialFailures: 1 } : {}),
    onEvent: (event) => {
      if (event.type === 'renewed') {
        s.noteGrant(p.remote.url, p.key, event.grant);
        lastExpiry = event.grant.expiresAt;
        publish('healthy', 0, event.grant.expiresAt);
      } else if (event.type === 'jeopardy') publish('jeopardy', event.failures, lastExpiry);
      else if (event.type === 'lost') {
        const error = event.error as { message?: string } | undefined;
        publish('lost', 0, lastExpiry, error?.message ?? 'the lease ended before a renewal got through');
      } else {
        // Who asked it to stop (`lock release`, `lock heartbeat --stop`), if they said.
        const asked = readState<{ by?: string } | undefined>(stopFileOf(file), undefined)?.by;
        rmSync(stopFileOf(file), { force: true });
        publish('stopped', 0, lastExpiry, asked);
      }
      s.emit({ type: 'heartbeat', event });
    },
  });
  const end = await hb.done;
  return end === 'lost' ? 'lost' : 'stopped';
};

/** `Engine.keepAlive`. */
export const keepAlive: Verb<'keepAlive'> = async (s) => {
  const p = s.getProject();
  const file = heartbeatFile(s.files.heartbeats, p.remote.url, p.key);
  const note = readState<HeartbeatNote | undefined>(file, undefined);
  const running =
    note !== undefined && isRunning(note) && (note.state === 'healthy' || note.state === 'jeopardy');
  return { ...(note ? { note } : {}), running, log: file.replace(/\.json$/, '.log') };
};

/** `Engine.markKeepAlive`. */
export const markKeepAlive: Verb<'markKeepAlive'> = async (s, pid) => {
  const p = s.getProject();
  const note: HeartbeatNote = {
    remote: p.remote.url,
    key: p.key,
    state: 'healthy',
    failures: 0,
    // Its identity, not its pid alone: once it is gone, a process that reuses the pid is
    // neither reported as the keep-alive nor ever signalled.
    ...(identify(pid) ?? { pid }),
    updatedAt: new Date().toISOString(),
  };
  writeState(heartbeatFile(s.files.heartbeats, p.remote.url, p.key), note);
};

/** `Engine.stopKeepAlive`. */
export const stopKeepAlive: Verb<'stopKeepAlive'> = async (s, o = {}) => {
  const { note, running } = await keepAlive(s);
  if (!note || !running || note.pid === process.pid) return { stopped: false };
  // Beside its note, which it rewrites at every renewal: the request is not overwritten.
  if (o.by) {
    const p = s.getProject();
    s.saveCache(stopFileOf(heartbeatFile(s.files.heartbeats, p.remote.url, p.key)), { by: o.by });
  }
  // Signalled only if it is still that very process (same start time): never a pid reused.
  if (!signalProcess(note, 'SIGTERM')) return { stopped: false };
  // It publishes `stopped` as it ends; wait briefly so the next command sees it.
  for (let i = 0; i < 40 && isRunning(note); i++) await new Promise((r) => setTimeout(r, 50));
  return { stopped: true, pid: note.pid };
};
