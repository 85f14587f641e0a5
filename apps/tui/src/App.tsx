import { describeOperation, type Engine, type EngineEvent, type QueueEntry, shortId } from '@oxvcs/engine';
import { Box, Text, useApp, useInput, useWindowSize } from 'ink';
import { useCallback, useEffect, useReducer, useRef, useState } from 'react';
import { Details } from './components/Details.js';
import { EntryList } from './components/EntryList.js';
import { Header } from './components/Header.js';
import { Confirm, HelpOverlay, LockPanel, ReasonPrompt } from './components/Overlays.js';
import {
  awayLines,
  connectivityText,
  errorText,
  fit,
  footer,
  guardText,
  keepAliveLines,
  lostLines,
  pushNoteLines,
  queuedText,
  safe,
  transferLine,
  typedLine,
} from './format.js';
import { queueErrorText } from './queue-words.js';
import { initialState, reducer, selectedRow, serverNow, visibleRows } from './reducer.js';
import { useLockStatus } from './use-lock.js';
import { useQueue } from './use-queue.js';

/** Subscribe to engine events; returns an unsubscribe function. */
export type EventSubscribe = (listener: (event: EngineEvent) => void) => () => void;

export interface AppProps {
  readonly engine: Engine;
  readonly subscribe: EventSubscribe;
  /** Keep the lock alive while the TUI is open (config `lock.auto_renew`). @default true */
  readonly heartbeat?: boolean;
  /**
   * Sync pending entries when the network comes back, and when the TUI first finds it online
   * (config `queue.auto_sync`, or `oxenvcs-tui --no-auto-sync`). @default true
   */
  readonly autoSync?: boolean;
  /** Connectivity check interval while offline, so a return is noticed soon. @default 3000 */
  readonly offlinePollMs?: number;
  /** Queue file check interval. @default 500 */
  readonly pollMs?: number;
  /** Lock and connectivity refresh interval. @default 15000 */
  readonly lockPollMs?: number;
  /** Fixed size (tests); else the terminal's, following resizes. */
  readonly size?: { readonly columns: number; readonly rows: number };
  /** Debug log (a file, when asked for); never the console. */
  readonly log?: (line: string) => void;
  /**
   * This machine's monotonic clock (ms), on which lease times are counted down from the server's
   * time of the read that gave them (the wall clock may run days off). @default performance.now
   */
  readonly monotonic?: () => number;
}

const performanceNow = () => performance.now();

/** What the lock is on, in words: the project, or its folder (`--project`). */
const lockName = (engine: Engine) => {
  try {
    const key = engine.project().key;
    return key === '.' ? 'The lock on this project' : `The lock on ${safe(key)}`;
  } catch {
    return 'The lock';
  }
};
const describe = (entry: QueueEntry) => safe(describeOperation(entry.operation));
const message = (error: unknown) => {
  const words = queueErrorText(error);
  return words === undefined ? errorText(error) : safe(words);
};

/** The whole screen: header, queue list, details, footer, and overlays. */
export function App(props: AppProps) {
  const { engine } = props;
  const { exit } = useApp();
  const window = useWindowSize();
  const columns = props.size?.columns ?? window.columns ?? 80;
  const rows = props.size?.rows ?? window.rows ?? 24;
  const [state, dispatch] = useReducer(reducer, initialState);
  const [now, setNow] = useState(Date.now());
  const sync = useRef<AbortController | undefined>(undefined);
  const heartbeat = useRef<AbortController | undefined>(undefined);
  /** What the read-only guard last did (a lock action adds it to its own message). */
  const guarded = useRef<string | undefined>(undefined);
  const log = props.log ?? (() => {});

  useQueue(engine, dispatch, props.pollMs ?? 500, describe);
  const monotonic = props.monotonic ?? performanceNow;
  const refreshLock = useLockStatus(engine, dispatch, props.lockPollMs ?? 15_000, monotonic);

  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  useEffect(
    () =>
      props.subscribe((event) => {
        log(
          JSON.stringify({
            event: event.type,
            ...('event' in event ? { inner: (event.event as { type: string }).type } : {}),
          }),
        );
        if (event.type === 'sync') dispatch({ type: 'sync-event', event: event.event, now: Date.now() });
        else if (event.type === 'heartbeat')
          dispatch({ type: 'heartbeat', event: event.event, now: Date.now(), mono: monotonic() });
        else if (event.type === 'connectivity') dispatch({ type: 'connectivity', result: event.result });
        else if (event.type === 'guard') {
          const text = guardText(event.report);
          if (text) {
            guarded.current = text;
            const warn = event.report.failed.length > 0 || event.report.recordFailed !== undefined;
            dispatch({ type: 'message', kind: warn ? 'warn' : 'info', text: `Files: ${text}` });
          }
        } else if (event.type === 'transfer')
          dispatch({
            type: 'transfer',
            operation: event.operation,
            progress: event.progress,
            now: Date.now(),
          });
        else if (event.type === 'push-resume') {
          const { type: _type, ...resume } = event;
          dispatch({ type: 'push-resume', resume });
        } else if (event.type === 'push-unresumable') {
          const { type: _type, ...fact } = event;
          dispatch({ type: 'push-unresumable', fact });
        }
      }),
    [props.subscribe, log, monotonic],
  );
  // What failed or expired while the user was away: told once, as a banner, when the TUI opens.
  useEffect(() => {
    engine
      .whileAway()
      .then((entries) => dispatch({ type: 'away', entries }))
      .catch((error: unknown) => log(`while away: ${message(error)}`));
  }, [engine, log]);
  // Keep the lock alive while the TUI is open and the lock is ours.
  useEffect(() => {
    if (props.heartbeat === false || state.lock?.state !== 'held-by-you' || heartbeat.current) return;
    const controller = new AbortController();
    heartbeat.current = controller;
    dispatch({ type: 'heartbeat-started' });
    engine
      .heartbeat({ signal: controller.signal })
      .then(async (end) => {
        // Lost (broken, taken over, lapsed): the banner says it (the reducer, from the event), and
        // the desktop too, once per loss, for a producer looking at Logic rather than this window.
        if (end !== 'lost') return;
        const reason = (await engine.keepAlive()).note?.reason;
        await engine.notify(
          'Lock lost: stop editing',
          `${lockName(engine)} is no longer yours${reason ? `: ${safe(reason)}` : ''}`,
        );
      })
      .catch((error: unknown) => {
        // A background keep-alive (`lock acquire --keep-alive`) already renews it: nothing to do.
        if ((error as { code?: unknown }).code === 'KEEPALIVE_RUNNING') {
          dispatch({ type: 'heartbeat-declined' });
          dispatch({
            type: 'message',
            kind: 'info',
            text: 'A background keep-alive renews the lock (l shows it)',
          });
        } else dispatch({ type: 'message', kind: 'warn', text: `Heartbeat: ${message(error)}` });
      })
      .finally(() => {
        heartbeat.current = undefined;
        void refreshLock();
      });
  }, [engine, props.heartbeat, state.lock?.state, refreshLock]);
  useEffect(
    () => () => {
      sync.current?.abort();
      heartbeat.current?.abort();
    },
    [],
  );

  const headerHeight = 3;
  const footerHeight = 2;
  const detailsHeight = rows >= 20 ? 8 : 0;
  // A lost lock first (red), then the away banner, which names up to 3 entries (fewer on a short
  // screen): title + entries + hint.
  const banner =
    state.overlay === 'none'
      ? [
          ...(state.lost ? lostLines(state.lost, lockName(engine)) : []),
          ...(state.away ? awayLines(state.away, describe, now, rows >= 20 ? 3 : 1) : []),
        ].map((line) => ({ ...line, text: fit(line.text, columns) }))
      : [];
  // Above the progress line: a push resuming a take cut partway, and what cannot resume midway; as
  // many lines as leave the list 3 rows.
  const notes = pushNoteLines(
    state,
    columns,
    Math.max(0, rows - headerHeight - footerHeight - detailsHeight - 1 - banner.length - 3),
  ).map((line) => ({ ...line, text: fit(line.text, columns) }));
  const listHeight = Math.max(
    3,
    rows - headerHeight - footerHeight - detailsHeight - 1 - banner.length - notes.length,
  );
  const selected = selectedRow(state);

  const act = useCallback(async (label: string, fn: () => Promise<string>) => {
    dispatch({ type: 'busy', label });
    try {
      dispatch({ type: 'message', kind: 'ok', text: await fn() });
    } catch (error) {
      dispatch({ type: 'message', kind: 'fail', text: message(error) });
    } finally {
      dispatch({ type: 'busy' });
    }
  }, []);

  const startSync = () => {
    if (sync.current) return;
    const controller = new AbortController();
    sync.current = controller;
    dispatch({ type: 'sync-started' });
    engine
      .sync({ signal: controller.signal })
      .then((report) =>
        dispatch(
          report.summary
            ? { type: 'sync-finished', summary: report.summary }
            : {
                type: 'sync-finished',
                offline: `Offline: ${report.connectivity ? connectivityText(report.connectivity.reason) : 'the remote is unreachable'}`,
              },
        ),
      )
      .catch((error: unknown) => dispatch({ type: 'sync-finished', error: message(error) }))
      .finally(() => {
        sync.current = undefined;
        void refreshLock();
      });
  };

  // Back online: replay what waited, as the CLI does before its next command (config
  // `queue.auto_sync`). Due is set by the reducer when connectivity turns online.
  const autoSync = props.autoSync ?? true;
  const pendingCount = state.rows.filter((r) => r.entry.status === 'pending').length;
  useEffect(() => {
    if (!state.autoSyncDue || !state.loaded || state.syncing) return;
    if (autoSync && pendingCount > 0) startSync();
    else dispatch({ type: 'auto-sync-skipped' });
  }, [state.autoSyncDue, state.loaded, state.syncing, autoSync, pendingCount]);

  // While offline, check more often than the lock poll, so a return is noticed within seconds.
  const offline = state.connectivity?.state === 'offline';
  const offlinePollMs = props.offlinePollMs ?? 3000;
  useEffect(() => {
    if (!offline) return;
    const timer = setInterval(() => {
      engine
        .connectivity(true)
        .then((result) => {
          dispatch({ type: 'connectivity', result });
          if (result.state === 'online') void refreshLock();
        })
        .catch(() => {});
    }, offlinePollMs);
    return () => clearInterval(timer);
  }, [engine, offline, offlinePollMs, refreshLock]);

  const lockAction = (kind: 'acquire' | 'release' | 'renew' | 'break') =>
    act(`${kind} in progress`, async () => {
      guarded.current = undefined;
      let text: string;
      if (kind === 'acquire') {
        const o = await engine.lockAcquire({});
        text =
          o.status === 'done'
            ? 'Lock acquired'
            : `Queued: ${queuedText(o.reason)} (the lock is NOT held yet)`;
      } else if (kind === 'release') {
        const o = await engine.lockRelease();
        text =
          o.status === 'done'
            ? o.result.released
              ? 'Lock released'
              : 'Nothing to release'
            : `Queued: ${queuedText(o.reason)}`;
        heartbeat.current?.abort();
      } else if (kind === 'renew') {
        const o = await engine.lockRenew({});
        text = o.status === 'done' ? 'Lock renewed' : `Queued: ${queuedText(o.reason)}`;
      } else {
        const r = await engine.lockBreak({
          force: true,
          ...(state.breakReason ? { reason: state.breakReason } : {}),
        });
        text = r.broken ? 'Lock broken (recorded with your reason)' : 'Nothing to break';
      }
      await refreshLock();
      return guarded.current ? `${text}; ${guarded.current}` : text;
    });

  useInput((input, key) => {
    if (state.editingText) {
      // A paste, or keys typed faster than they are read, arrive as one chunk ("do\r"): the Enter
      // in it ends the text, as a lone Enter would (what follows it in the chunk is dropped).
      const typed = typedLine(input);
      if (key.return || typed.enter) {
        if (typed.text && !key.ctrl && !key.meta) dispatch({ type: 'text-input', value: typed.text });
        dispatch({ type: 'text-commit' });
      } else if (key.escape) dispatch({ type: 'text-cancel' });
      else if (key.backspace || key.delete) dispatch({ type: 'text-backspace' });
      else if (typed.text && !key.ctrl && !key.meta) dispatch({ type: 'text-input', value: typed.text });
      return;
    }
    if (key.escape && state.overlay === 'none' && (state.lost || state.away || state.unresumable)) {
      dispatch({ type: state.lost ? 'lost-dismiss' : state.away ? 'away-dismiss' : 'unresumable-dismiss' });
      return;
    }
    switch (state.overlay) {
      case 'help':
        if (key.escape || input === '?' || input === 'q') dispatch({ type: 'overlay', overlay: 'none' });
        return;
      case 'confirm-remove':
      case 'confirm-clear':
      case 'confirm-break': {
        const overlay = state.overlay;
        if (input === 'y') {
          dispatch({ type: 'overlay', overlay: 'none' });
          if (overlay === 'confirm-remove' && selected) {
            const id = selected.entry.id;
            void act('removing', async () => `Removed ${shortId((await engine.queueRemove(id)).id)}`);
          } else if (overlay === 'confirm-clear') {
            void act(
              'clearing',
              async () => `Cleared ${await engine.queueClear({ all: false })} done entries`,
            );
          } else if (overlay === 'confirm-break') {
            void lockAction('break');
          }
        } else if (input === 'n' || key.escape)
          dispatch({ type: 'overlay', overlay: overlay === 'confirm-break' ? 'lock' : 'none' });
        return;
      }
      case 'break-reason': {
        const typed = typedLine(input);
        if (key.return || typed.enter) {
          if (typed.text && !key.ctrl) dispatch({ type: 'reason-input', value: typed.text });
          dispatch({ type: 'overlay', overlay: 'confirm-break' });
        } else if (key.escape) dispatch({ type: 'overlay', overlay: 'lock' });
        else if (key.backspace || key.delete) dispatch({ type: 'reason-backspace' });
        else if (typed.text && !key.ctrl) dispatch({ type: 'reason-input', value: typed.text });
        return;
      }
      case 'lock':
        // q quits here as everywhere the footer shows it (it falls through to the quit below).
        if (input === 'q') break;
        if (key.escape || input === 'l') dispatch({ type: 'overlay', overlay: 'none' });
        else if (input === 'a') void lockAction('acquire');
        else if (input === 'r') void lockAction('release');
        else if (input === 'n') void lockAction('renew');
        else if (input === 'b') dispatch({ type: 'overlay', overlay: 'break-reason' });
        return;
      default:
        break;
    }
    if (input === 'q') {
      sync.current?.abort();
      heartbeat.current?.abort();
      exit();
    } else if (key.upArrow || input === 'k') dispatch({ type: 'move', delta: -1, height: listHeight });
    else if (key.downArrow || input === 'j') dispatch({ type: 'move', delta: 1, height: listHeight });
    else if (key.pageUp) dispatch({ type: 'move', delta: -listHeight, height: listHeight });
    else if (key.pageDown) dispatch({ type: 'move', delta: listHeight, height: listHeight });
    else if (input === 'g') dispatch({ type: 'home' });
    else if (input === 'G') dispatch({ type: 'end', height: listHeight });
    else if (key.tab || input === 'f') dispatch({ type: 'cycle-filter' });
    else if (input === '/') dispatch({ type: 'text-start' });
    else if (input === '?') dispatch({ type: 'overlay', overlay: 'help' });
    else if (input === 'l') {
      dispatch({ type: 'overlay', overlay: 'lock' });
      // What the panel shows is read now (the background poll may be 15 s old).
      void refreshLock();
    } else if (input === 's') startSync();
    else if (input === 'x') sync.current?.abort();
    else if (input === 'r' && selected) {
      const id = selected.entry.id;
      void act(
        'retrying',
        async () => `Requeued ${shortId((await engine.queueRetry(id)).id)}; press s to sync`,
      );
    } else if ((input === 'd' || key.delete) && selected)
      dispatch({ type: 'overlay', overlay: 'confirm-remove' });
    else if (input === 'c') dispatch({ type: 'overlay', overlay: 'confirm-clear' });
  });

  const p = (() => {
    try {
      const project = engine.project();
      return { name: safe(project.root), remote: safe(project.remote.url) };
    } catch (error) {
      return { name: message(error), remote: '?' };
    }
  })();
  const mainHeight = listHeight + 1 + detailsHeight + banner.length;
  const count = visibleRows(state).length;
  // Lease times are told against the server's clock, as last read and counted on since (`now` ticks
  // the render every second).
  const leaseNow = serverNow(state.serverClock, monotonic(), now);
  const msgColour = { ok: 'green', warn: 'yellow', fail: 'red', info: 'cyan' }[state.message?.kind ?? 'info'];

  return (
    <Box flexDirection="column" width={columns} height={rows}>
      <Header
        state={state}
        project={p.name}
        remote={p.remote}
        width={columns}
        now={now}
        serverNow={leaseNow}
      />
      {state.overlay === 'help' ? (
        <HelpOverlay height={mainHeight} />
      ) : state.overlay === 'lock' ? (
        <LockPanel
          state={state}
          height={mainHeight}
          serverNow={leaseNow}
          keepAlive={keepAliveLines({
            lock: state.lock,
            note: state.keepAlive,
            live: state.heartbeat,
            ownPid: process.pid,
            now,
            serverNow: leaseNow,
          })}
        />
      ) : state.overlay === 'break-reason' ? (
        <ReasonPrompt reason={state.breakReason} height={mainHeight} />
      ) : state.overlay === 'confirm-break' ? (
        <Confirm
          text={`Break the lock${state.breakReason ? ` ("${safe(state.breakReason)}")` : ''}? The holder will see who broke it and why.`}
          height={mainHeight}
        />
      ) : state.overlay === 'confirm-remove' ? (
        <Confirm
          text={`Remove ${selected?.description ?? 'this entry'} (${selected ? shortId(selected.entry.id) : ''})? It will not run.`}
          height={mainHeight}
        />
      ) : state.overlay === 'confirm-clear' ? (
        <Confirm text="Clear every done and superseded entry?" height={mainHeight} />
      ) : (
        <>
          {banner.map((line, i) => (
            <Text key={`away-${i}`} wrap="truncate" {...(line.colour ? { color: line.colour } : {})}>
              {line.text}
            </Text>
          ))}
          <EntryList state={state} height={listHeight} width={columns} now={now} />
          {detailsHeight > 0 ? (
            <Details row={selected} height={detailsHeight} width={columns} now={now} />
          ) : null}
        </>
      )}
      {notes.map((line, i) => (
        <Text key={`note-${i}`} wrap="truncate" color={line.colour}>
          {line.text}
        </Text>
      ))}
      <Text
        color={state.transfer && !state.loadError && !state.editingText ? 'cyan' : msgColour}
        wrap="truncate"
      >
        {fit(
          state.loadError
            ? `Queue: ${state.loadError}`
            : state.editingText
              ? `/${state.text}_`
              : state.transfer
                ? transferLine(state.transfer)
                : (state.message?.text ?? ''),
          columns,
        )}
      </Text>
      <Text dimColor wrap="truncate">
        {fit(
          footer(
            `[${state.filter}${state.text ? ` "${state.text}"` : ''}] ${count} shown`,
            state.syncing,
            columns,
          ),
          columns,
        )}
      </Text>
    </Box>
  );
}
