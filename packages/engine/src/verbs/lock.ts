import { isRunning } from '@oxvcs/durable';
import { EXPIRY_MARGIN_MS, type Grant, type Lease, LockError, type LockState, MAX_TEXT } from '@oxvcs/locks';
import type { ConnectivityResult } from '@oxvcs/oxen';
import { checkText, inputError, refuse } from '../input.js';
import { heartbeatFile } from '../lock-state.js';
import type { Operation } from '../operations/index.js';
import { specOf } from '../operations/index.js';
import type { Verb } from '../session.js';
import { grantId, type HeartbeatNote, readState, type SeenNote, writeState } from '../state.js';
import { waitTurn } from '../wait-turn.js';

// The lock verbs: take, give back, extend, look at, list and break a lock.

/** The lock state a HELD error tells (someone else's live lease), or undefined for any other error. */
function heldState(key: string, error: unknown): LockState | undefined {
  if (!(error instanceof LockError) || error.code !== 'HELD') return undefined;
  const { holder, machineId, acquiredAt, expiresAt, fencingToken, comment, heldKey, lastRenewedAt } = error;
  if (!holder || !acquiredAt || !expiresAt || fencingToken === undefined) return undefined;
  const lease: Lease = {
    key: heldKey ?? key,
    lockId: '',
    holder,
    machineId: machineId ?? '',
    acquiredAt,
    expiresAt,
    lastHeartbeat: lastRenewedAt ?? acquiredAt,
    ttlMs: Math.max(0, Date.parse(expiresAt) - Date.parse(lastRenewedAt ?? acquiredAt)),
    ...(error.keptAlive ? { keptAlive: true as const } : {}),
    fencingToken,
    ticket: 0,
    ...(comment ? { comment } : {}),
  };
  return { state: 'held-by-other', key, lease };
}

const HOUR = 3_600_000;

/** `Engine.lockAcquire`. */
export const lockAcquire: Verb<'lockAcquire'> = async (s, o = {}) => {
  const p = s.getProject();
  if (!p.keyExists) throw inputError({ field: 'project', problem: 'no-such-folder', value: p.key });
  const ttlMs = s.ttlFrom(o.ttlHours);
  // The record keeps at most MAX_TEXT characters: a longer comment is refused, not cut.
  if (o.comment !== undefined) refuse(o.comment, checkText('comment', o.comment, MAX_TEXT));
  const op: Operation = {
    kind: 'acquire-lock',
    projectDir: p.root,
    remote: p.remote.url,
    key: p.key,
    ttlMs,
    holder: p.holder,
    ...(o.comment ? { comment: o.comment } : {}),
  };
  // Waiting in line needs the remote now; offline, or behind this project's queued work, the
  // acquisition is queued as usual, and waits its turn in line when it is replayed.
  if (o.wait && (await s.connectivity()).state !== 'offline' && (await s.getQueue().ahead(op)).length === 0) {
    const grant = await waitTurn(
      {
        manager: s.locksFor(p.remote.url, p.holder),
        key: p.key,
        ttlMs,
        lookMs: s.interactiveMs(),
        ...(o.comment ? { comment: o.comment } : {}),
      },
      { pollMs: s.getConfig().lock.wait_poll_seconds * 1000, ...o.wait },
    );
    s.noteGrant(p.remote.url, p.key, grant);
    return { status: 'done', result: grant };
  }
  try {
    return await s.runOrQueue<Grant & Record<string, unknown>>(op);
  } catch (error) {
    // Told who holds it: `lock status` offline shows that as the last known state.
    const held = heldState(p.key, error);
    if (held) s.noteSeen(p.remote.url, p.key, held);
    throw error;
  }
};

/** `Engine.lockRelease`. */
export const lockRelease: Verb<'lockRelease'> = async (s) => {
  const p = s.getProject();
  // A lease we still hold by our last note: the release gives it back (never cancelled).
  const live = s.liveGrant(p.remote.url, p.key);
  const note = await s.grantToCarry(p, live);
  const outcome = await s.runOrQueue<{ released: boolean; was: LockState['state'] }>({
    kind: 'release-lock',
    projectDir: p.root,
    remote: p.remote.url,
    key: p.key,
    holder: p.holder,
    ...(note ? { fencingToken: note.fencingToken } : {}),
    ...(live ? { whileHeld: true } : {}),
  });
  if (outcome.status !== 'done') return outcome;
  return { ...outcome, result: { released: outcome.result.released, previous: outcome.result.was } };
};

/** `Engine.lockRenew`. */
export const lockRenew: Verb<'lockRenew'> = async (s, o = {}) => {
  const p = s.getProject();
  const note = await s.grantToCarry(p, s.grants()[grantId(p.remote.url, p.key)]);
  const ttlMs = s.ttlFrom(o.ttlHours ?? (note ? note.ttlMs / HOUR : undefined));
  return s.runOrQueue<Grant & Record<string, unknown>>({
    kind: 'renew-lock',
    projectDir: p.root,
    remote: p.remote.url,
    key: p.key,
    holder: p.holder,
    ttlMs,
    // Queued, it expires when the lease ends on this machine's clock (the queue judges by it).
    ...(note ? { fencingToken: note.fencingToken, leaseExpiresAt: note.localEndsAt ?? note.expiresAt } : {}),
  });
};

/** `Engine.lockStatus`. */
export const lockStatus: Verb<'lockStatus'> = async (s, o = {}) => {
  const p = s.getProject();
  const replayed = await s.autoSync();
  const queued = (
    await s.getQueue().list({ status: ['pending', 'running', 'failed'], scope: p.root })
  ).filter((e) => specOf(e.operation).class === 'lock');
  const cached = s.grants()[grantId(p.remote.url, p.key)];
  const hbFile = heartbeatFile(s.files.heartbeats, p.remote.url, p.key);
  const hb = readState<HeartbeatNote | undefined>(hbFile, undefined);
  // A running keep-alive, or one that stopped because the lock was lost: shown until the user
  // has seen it once, and never beside a lease granted after it.
  const lostUnseen = hb?.state === 'lost' && !hb.seenAt && !(cached && cached.updatedAt > hb.updatedAt);
  const heartbeat = hb && (isRunning(hb) || lostUnseen) ? hb : undefined;
  if (o.markSeen && heartbeat && lostUnseen) {
    try {
      writeState(hbFile, { ...hb, seenAt: new Date().toISOString() });
    } catch {
      // Shown again next time.
    }
  }
  const base = {
    project: p,
    expiryMarginMs: EXPIRY_MARGIN_MS,
    queued,
    ...(cached ? { cached } : {}),
    ...(heartbeat ? { heartbeat } : {}),
  };
  // Offline: the lock as this machine last read it (anyone's), with when.
  const offline = (connectivity: ConnectivityResult) => {
    const lastKnown = readState<Record<string, SeenNote>>(s.files.seen, {})[grantId(p.remote.url, p.key)];
    return { ...base, connectivity, ...(lastKnown ? { lastKnown } : {}) };
  };
  if (replayed && 'state' in replayed) return offline(replayed);
  try {
    const { serverNow, ...state } = await s.needsRemote('lock-status', (signal) =>
      s.locksFor(p.remote.url).status(p.key, { signal }),
    );
    s.noteSeen(p.remote.url, p.key, state as LockState);
    const brokenNews = s.breakNews(p.remote.url, p.key, state as LockState, o.markSeen === true);
    return {
      ...base,
      connectivity: s.answered(p.remote.origin),
      state: state as LockState,
      ...(serverNow !== undefined ? { serverNow } : {}),
      ...(brokenNews ? { brokenNews } : {}),
    };
  } catch (error) {
    const e = error as { name?: unknown; code?: unknown };
    const last = s.lastConnectivity();
    if (e.name === 'EngineError' && e.code === 'OFFLINE' && last) return offline(last);
    throw error;
  }
};

/** `Engine.lockList`. */
export const lockList: Verb<'lockList'> = async (s) => {
  const p = s.getProject();
  return s.needsRemote('lock-list', (signal) => s.locksFor(p.remote.url).list({ signal }));
};

/** `Engine.lockBreak`. */
export const lockBreak: Verb<'lockBreak'> = async (s, o) => {
  const p = s.getProject();
  if (o.reason !== undefined) refuse(o.reason, checkText('reason', o.reason, MAX_TEXT));
  return s.needsRemote('lock-break', (signal) =>
    s.locksFor(p.remote.url).break(p.key, {
      force: o.force,
      signal,
      ...(o.reason ? { reason: o.reason } : {}),
    }),
  );
};
