import type {
  ConnectivityResult,
  EngineEvent,
  HeartbeatEvent,
  HeartbeatNote,
  LockState,
  PushResume,
  PushUnresumable,
  QueueEntry,
  RunEvent,
  RunSummary,
} from '@oxvcs/engine';
import { failedText, reasonText } from './format.js';

/** Which entries the list shows. */
export type Filter = 'all' | 'pending' | 'failed' | 'done';
export const FILTERS: readonly Filter[] = ['all', 'pending', 'failed', 'done'];

/** An entry with its description, as the list shows it. */
export interface Row {
  readonly entry: QueueEntry;
  readonly description: string;
  /** A queued push of a recorded take that stopped partway: how much of it is on the remote. */
  readonly take?: TakeOnRemote;
}

/** A take's parts and bytes, and how many of them its pushes saw on the remote (at least). */
export interface TakeOnRemote {
  readonly parts: number;
  readonly bytes: number;
  readonly partsOnRemote?: number;
  readonly bytesOnRemote?: number;
}

/** Live progress of one entry during a sync. */
export interface Progress {
  readonly phase: 'running' | 'retrying' | 'deferred' | 'done' | 'failed' | 'expired';
  readonly message: string;
  /** Epoch ms of the next attempt, for countdowns. */
  readonly until?: number;
  /** The entry as the event saw it ({@link entryVersion}); once the queue file moves on, the row follows the file. */
  readonly version?: string;
}

/** The push or pull a sync is replaying now: oxen's own counts, and when it started. */
export interface Transfer {
  readonly operation: 'push' | 'pull';
  readonly progress: Extract<EngineEvent, { type: 'transfer' }>['progress'];
  /** Epoch ms of its first progress report, and of the latest. */
  readonly startedAt: number;
  readonly at: number;
}

/** The TUI's own keep-alive of the lock, as its events report it. */
export interface LiveHeartbeat {
  readonly state: 'healthy' | 'jeopardy' | 'lost' | 'stopped';
  readonly failures: number;
  /** Epoch ms of the last renewal that got through. */
  readonly renewedAt?: number;
  /** When the lease ends (ISO), as last renewed. */
  readonly leaseEndsAt?: string;
}

/**
 * A reading of the server's clock: its time then (epoch ms, from the `Date` header of a lock read or
 * a renewal's commit time) and this machine's monotonic clock at that moment (ms). Lease times are
 * on the server's clock; the wall clock here may run days off, the monotonic one counts truly.
 */
export interface ServerClock {
  readonly server: number;
  readonly mono: number;
}

/**
 * The server's time now, as best known: the last reading counted on since by the monotonic clock
 * (`mono`, read now), or `fallback` (the wall clock) before any reading.
 */
export function serverNow(clock: ServerClock | undefined, mono: number, fallback: number): number {
  return clock ? clock.server + (mono - clock.mono) : fallback;
}

/** What identifies one state of an entry: a retry, a removal or another process changes it. */
export const entryVersion = (e: QueueEntry) =>
  `${e.status}:${e.attempts}:${e.history.length}:${e.history.at(-1)?.at ?? ''}`;

export type Overlay =
  | 'none'
  | 'help'
  | 'confirm-remove'
  | 'confirm-clear'
  | 'lock'
  | 'break-reason'
  | 'confirm-break';

/** Everything the screen shows; changed only by {@link reducer}. */
export interface State {
  readonly rows: readonly Row[];
  readonly filter: Filter;
  readonly text: string;
  readonly editingText: boolean;
  readonly cursor: number;
  readonly offset: number;
  readonly overlay: Overlay;
  readonly breakReason: string;
  readonly syncing: boolean;
  readonly progress: Readonly<Record<string, Progress>>;
  readonly lastSummary?: RunSummary;
  readonly message?: {
    readonly kind: 'ok' | 'warn' | 'fail' | 'info';
    readonly text: string;
    /** Says the network is gone: cleared when it is back. */
    readonly offline?: boolean;
  };
  /** The network has just come back (or was first seen online): pending entries should sync. */
  readonly autoSyncDue?: boolean;
  /** The queue file has been read at least once. */
  readonly loaded?: boolean;
  readonly lock?: LockState | undefined;
  readonly lockError?: string | undefined;
  /** The server's clock as last read (the lock read, or a renewal): what lease times are told against. */
  readonly serverClock?: ServerClock;
  readonly connectivity?: ConnectivityResult;
  readonly heartbeat?: LiveHeartbeat;
  /** The keep-alive note of the lock (this window's or a background one), as `lock status` reads it. */
  readonly keepAlive?: HeartbeatNote;
  /** Queued operations that failed or expired while the user was away: the banner until Esc. */
  readonly away?: readonly QueueEntry[];
  /**
   * This window's keep-alive lost the lock (broken, taken over, lapsed): a red banner until Esc,
   * or until the lock is yours again.
   */
  readonly lost?: LostLock;
  /** The push or pull being replayed now (its progress line). */
  readonly transfer?: Transfer;
  /**
   * The push being replayed resumes a take cut partway: how much of it the remote already has
   * (said above the progress line while that push runs).
   */
  readonly resume?: PushResume;
  /**
   * What pushes of this sync send that cannot resume midway if cut: warnings on screen until Esc or
   * the next sync.
   */
  readonly unresumable?: readonly PushUnresumable[];
  /** Every such fact warned of since the TUI opened: each is told once, as the CLI tells it once. */
  readonly toldUnresumable?: readonly string[];
  readonly busy?: string | undefined;
  readonly loadError?: string | undefined;
}

/** A lock this window's keep-alive lost: when, and why (the keep-alive's error). */
export interface LostLock {
  readonly at: number;
  readonly reason?: string;
}

export const initialState: State = {
  rows: [],
  filter: 'all',
  text: '',
  editingText: false,
  cursor: 0,
  offset: 0,
  overlay: 'none',
  breakReason: '',
  syncing: false,
  progress: {},
};

export type Action =
  | { type: 'rows'; rows: readonly Row[] }
  | { type: 'load-error'; message: string }
  | { type: 'move'; delta: number; height: number }
  | { type: 'home' }
  | { type: 'end'; height: number }
  | { type: 'cycle-filter' }
  | { type: 'text-start' }
  | { type: 'text-input'; value: string }
  | { type: 'text-backspace' }
  | { type: 'text-commit' }
  | { type: 'text-cancel' }
  | { type: 'overlay'; overlay: Overlay }
  | { type: 'reason-input'; value: string }
  | { type: 'reason-backspace' }
  | { type: 'sync-started' }
  | { type: 'sync-event'; event: RunEvent; now: number }
  | { type: 'sync-finished'; summary?: RunSummary; offline?: string; error?: string }
  | { type: 'message'; kind: 'ok' | 'warn' | 'fail' | 'info'; text: string }
  | { type: 'busy'; label?: string | undefined }
  | {
      type: 'lock';
      lock?: LockState | undefined;
      error?: string | undefined;
      /** The keep-alive note `lock status` found (none: no keep-alive runs). */
      keepAlive?: HeartbeatNote | undefined;
      /** The server's clock when `lock` was read. */
      read?: ServerClock | undefined;
    }
  | { type: 'connectivity'; result: ConnectivityResult }
  /** `now`: the wall clock (when this window last got through); `mono`: the monotonic clock. */
  | { type: 'heartbeat'; event: HeartbeatEvent; now?: number; mono?: number }
  | { type: 'heartbeat-started' }
  /** The TUI does not keep the lock alive itself (a background keep-alive does). */
  | { type: 'heartbeat-declined' }
  | { type: 'away'; entries: readonly QueueEntry[] }
  | { type: 'away-dismiss' }
  | { type: 'lost-dismiss' }
  | ({ type: 'transfer'; now: number } & Pick<Transfer, 'operation' | 'progress'>)
  | { type: 'push-resume'; resume: PushResume }
  | { type: 'push-unresumable'; fact: PushUnresumable }
  | { type: 'unresumable-dismiss' }
  | { type: 'auto-sync-skipped' };

const GROUPS: Record<Filter, ReadonlySet<QueueEntry['status']> | undefined> = {
  all: undefined,
  pending: new Set(['pending', 'running']),
  failed: new Set(['failed', 'expired']),
  done: new Set(['done', 'superseded']),
};

/** The rows the list shows under the current filters (pure). */
export function visibleRows(state: State): Row[] {
  const group = GROUPS[state.filter];
  const text = state.text.toLowerCase();
  return state.rows.filter(
    (r) =>
      (!group || group.has(r.entry.status)) &&
      (!text ||
        `${r.description} ${r.entry.id} ${r.entry.operation.kind} ${r.entry.operation.projectDir} ${r.entry.status}`
          .toLowerCase()
          .includes(text)),
  );
}

/** The selected row, if any. */
export function selectedRow(state: State): Row | undefined {
  return visibleRows(state)[state.cursor];
}

const clampCursor = (state: State, cursor: number, height: number): State => {
  const count = visibleRows(state).length;
  const c = Math.max(0, Math.min(count - 1, cursor));
  const h = Math.max(1, height);
  const offset = c < state.offset ? c : c >= state.offset + h ? c - h + 1 : state.offset;
  return { ...state, cursor: Math.max(0, c), offset: Math.max(0, Math.min(offset, Math.max(0, count - h))) };
};

const keepSelection = (before: State, after: State): State => {
  const selected = selectedRow(before)?.entry.id;
  const rows = visibleRows(after);
  const index = selected ? rows.findIndex((r) => r.entry.id === selected) : -1;
  const cursor = index >= 0 ? index : Math.min(before.cursor, Math.max(0, rows.length - 1));
  return { ...after, cursor, offset: Math.min(after.offset, Math.max(0, cursor)) };
};

type Optional = 'transfer' | 'resume' | 'unresumable' | 'away' | 'heartbeat' | 'keepAlive' | 'lost';

/** `state` without the optional fields `keys` (exactOptionalPropertyTypes: absent, not undefined). */
function omit(state: State, ...keys: Optional[]): State {
  const copy: { -readonly [P in keyof State]: State[P] } = { ...state };
  for (const key of keys) delete copy[key];
  return copy;
}

/** The TUI's state machine: pure, tested without rendering. */
export function reducer(state: State, action: Action): State {
  switch (action.type) {
    case 'rows': {
      // Outside a sync, live progress only stands while the entry is as the event saw it: after a
      // retry (or any change by another process) the row shows the entry's own status again.
      let progress = state.progress;
      if (!state.syncing) {
        const byId = new Map(action.rows.map((r) => [r.entry.id, r.entry]));
        const kept = Object.entries(progress).filter(([id, p]) => {
          const entry = byId.get(id);
          return entry !== undefined && (p.version === undefined || p.version === entryVersion(entry));
        });
        if (kept.length !== Object.keys(progress).length) progress = Object.fromEntries(kept);
      }
      return keepSelection(state, {
        ...state,
        rows: action.rows,
        progress,
        loaded: true,
        loadError: undefined,
      });
    }
    case 'load-error':
      return { ...state, loadError: action.message };
    case 'move':
      return clampCursor(state, state.cursor + action.delta, action.height);
    case 'home':
      return { ...state, cursor: 0, offset: 0 };
    case 'end':
      return clampCursor(state, visibleRows(state).length - 1, action.height);
    case 'cycle-filter': {
      const filter = FILTERS[(FILTERS.indexOf(state.filter) + 1) % FILTERS.length]!;
      return { ...state, filter, cursor: 0, offset: 0 };
    }
    case 'text-start':
      return { ...state, editingText: true };
    case 'text-input':
      return { ...state, text: state.text + action.value, cursor: 0, offset: 0 };
    case 'text-backspace':
      return { ...state, text: state.text.slice(0, -1), cursor: 0, offset: 0 };
    case 'text-commit':
      return { ...state, editingText: false };
    case 'text-cancel':
      return { ...state, editingText: false, text: '', cursor: 0, offset: 0 };
    case 'overlay':
      return {
        ...state,
        overlay: action.overlay,
        ...(action.overlay === 'break-reason' ? { breakReason: '' } : {}),
      };
    case 'reason-input':
      return { ...state, breakReason: state.breakReason + action.value };
    case 'reason-backspace':
      return { ...state, breakReason: state.breakReason.slice(0, -1) };
    case 'sync-started':
      return {
        // The last sync's warnings are old news; what was told stays told.
        ...omit(state, 'transfer', 'resume', 'unresumable'),
        syncing: true,
        autoSyncDue: false,
        progress: {},
        message: { kind: 'info', text: 'Syncing… (x to cancel)' },
      };
    case 'auto-sync-skipped':
      return { ...state, autoSyncDue: false };
    case 'sync-event': {
      const e = action.event;
      // A push or pull that finished (or stopped) takes its progress line (and its resume line) with it.
      const ends =
        (e.type === 'entry-done' || e.type === 'entry-failed' || e.type === 'entry-deferred') &&
        (e.entry.operation.kind === 'push' || e.entry.operation.kind === 'pull');
      const set = (entry: QueueEntry, p: Progress): State => ({
        ...(ends ? omit(state, 'transfer', 'resume') : state),
        progress: { ...state.progress, [entry.id]: { ...p, version: entryVersion(entry) } },
      });
      switch (e.type) {
        case 'entry-started':
          return set(e.entry, { phase: 'running', message: 'running' });
        case 'entry-retry':
          if (e.event.type === 'retry-scheduled') {
            const kind = e.event.serverDelay ? 'server asked to wait' : 'retrying';
            return set(e.entry, { phase: 'retrying', message: kind, until: action.now + e.event.delayMs });
          }
          return state;
        case 'entry-done':
          return set(e.entry, { phase: 'done', message: 'done' });
        case 'entry-failed':
          return set(e.entry, { phase: 'failed', message: failedText(e.entry) || 'failed' });
        case 'entry-deferred':
          return set(e.entry, {
            phase: 'deferred',
            message: reasonText(e.entry.reason),
            until: Date.parse(e.until),
          });
        case 'entry-expired':
          return set(e.entry, { phase: 'expired', message: 'expired' });
        case 'run-stopped':
          return {
            ...state,
            message: {
              kind: 'warn',
              text:
                e.reason === 'budget'
                  ? 'The retry budget for this sync is spent; the rest stays queued.'
                  : 'Sync cancelled; everything not yet done stays queued.',
            },
          };
        default:
          return state;
      }
    }
    case 'sync-finished': {
      if (action.offline)
        return {
          ...omit(state, 'transfer', 'resume'),
          syncing: false,
          message: { kind: 'warn', text: action.offline, offline: true },
        };
      if (action.error)
        return {
          ...omit(state, 'transfer', 'resume'),
          syncing: false,
          message: { kind: 'fail', text: action.error },
        };
      const s = action.summary;
      const text = s
        ? `Sync: ${s.done} done, ${s.failed} failed, ${s.expired > 0 ? `${s.expired} expired, ` : ''}${s.remaining} still queued${s.stopped ? ` (${s.stopped})` : ''}`
        : 'Sync finished';
      // As the CLI's exit codes: an entry failed or expired (it never ran) is a failure; one left
      // queued waits for later; only a run that left nothing behind is all synced.
      const kind = !s
        ? 'ok'
        : s.failed > 0 || s.expired > 0
          ? 'fail'
          : s.remaining > 0 || s.stopped
            ? 'warn'
            : 'ok';
      return {
        ...omit(state, 'transfer', 'resume'),
        syncing: false,
        ...(s ? { lastSummary: s } : {}),
        message: { kind, text },
      };
    }
    case 'message':
      return { ...state, message: { kind: action.kind, text: action.text } };
    case 'busy':
      return action.label ? { ...state, busy: action.label } : ({ ...state, busy: undefined } as State);
    case 'lock':
      return {
        // The lock is yours again: the loss is old news.
        ...(action.lock?.state === 'held-by-you'
          ? omit(state, 'keepAlive', 'lost')
          : omit(state, 'keepAlive')),
        lock: action.lock,
        lockError: action.error,
        ...(action.keepAlive ? { keepAlive: action.keepAlive } : {}),
        ...(action.read ? { serverClock: action.read } : {}),
      };
    case 'connectivity': {
      const online = action.result.state === 'online';
      const wasOnline = state.connectivity?.state === 'online';
      return {
        ...state,
        connectivity: action.result,
        // Back online (or first seen online): what waited should go now, and "offline" is old news.
        ...(online && !wasOnline ? { autoSyncDue: true } : {}),
        ...(online && state.message?.offline ? { message: undefined } : {}),
      } as State;
    }
    case 'heartbeat-started':
      return { ...state, heartbeat: { state: 'healthy', failures: 0 } };
    case 'heartbeat-declined':
      return omit(state, 'heartbeat');
    case 'heartbeat': {
      const e = action.event;
      const was = state.heartbeat;
      const ends = was?.leaseEndsAt ? { leaseEndsAt: was.leaseEndsAt } : {};
      const renewed = was?.renewedAt !== undefined ? { renewedAt: was.renewedAt } : {};
      if (e.type === 'renewed') {
        // The grant's last heartbeat is the server's time of the renewal: a reading of its clock.
        const server = Date.parse(e.grant.lastHeartbeat);
        return {
          ...state,
          ...(action.mono !== undefined && Number.isFinite(server)
            ? { serverClock: { server, mono: action.mono } }
            : {}),
          heartbeat: {
            state: 'healthy',
            failures: 0,
            renewedAt: action.now ?? Date.now(),
            leaseEndsAt: e.grant.expiresAt,
          },
        };
      }
      if (e.type === 'jeopardy')
        return {
          ...state,
          heartbeat: {
            state: 'jeopardy',
            failures: e.failures,
            ...renewed,
            ...(e.leaseEndsAt ? { leaseEndsAt: e.leaseEndsAt } : ends),
          },
        };
      if (e.type === 'lost') {
        const reason = (e.error as { message?: unknown } | undefined)?.message;
        return {
          ...state,
          heartbeat: { state: 'lost', failures: was?.failures ?? 0, ...renewed, ...ends },
          lost: { at: action.now ?? Date.now(), ...(typeof reason === 'string' ? { reason } : {}) },
        };
      }
      return { ...state, heartbeat: { state: 'stopped', failures: 0, ...renewed, ...ends } };
    }
    case 'away': {
      // Read as the TUI opens, it may answer after a first sync already showed an entry fail or
      // expire in this window: that one was not missed while away.
      const missed = action.entries.filter((e) => state.progress[e.id] === undefined);
      return missed.length > 0 ? { ...state, away: missed } : state;
    }
    case 'away-dismiss':
      return omit(state, 'away');
    case 'lost-dismiss':
      return omit(state, 'lost');
    case 'transfer': {
      const same = state.transfer?.operation === action.operation;
      return {
        ...state,
        transfer: {
          operation: action.operation,
          progress: action.progress,
          startedAt: same && state.transfer ? state.transfer.startedAt : action.now,
          at: action.now,
        },
      };
    }
    case 'push-resume':
      return { ...state, resume: action.resume };
    case 'push-unresumable': {
      // Once per fact: a retried or resumed run of the same push (in this sync or a later one) tells it again.
      const key = unresumableKey(action.fact);
      const told = state.toldUnresumable ?? [];
      if (told.includes(key)) return state;
      return {
        ...state,
        unresumable: [...(state.unresumable ?? []), action.fact],
        toldUnresumable: [...told, key],
      };
    }
    case 'unresumable-dismiss':
      return omit(state, 'unresumable');
  }
}

/** What makes two unresumable facts the same one (the order of a fact's fields does not). */
const unresumableKey = (fact: PushUnresumable) =>
  JSON.stringify([fact.recorded, fact.parts ?? [], fact.bytes, fact.partBytes]);
