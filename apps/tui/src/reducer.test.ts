import type { QueueEntry } from '@oxvcs/engine';
import { describe, expect, it } from 'vitest';
import { fit, footer, safe } from './format.js';
import { initialState, type Row, reducer, type State, selectedRow, visibleRows } from './reducer.js';

const row = (
  i: number,
  status: QueueEntry['status'],
  kind: QueueEntry['operation']['kind'] = 'pull',
): Row => ({
  entry: {
    id: `01ABCDEFGHJKMNPQRSTV${String(i).padStart(6, '0')}`,
    idempotencyKey: `k${i}`,
    operation: {
      kind,
      projectDir: `/music/p${i % 3}`,
      remote: 'http://h/ns/r',
      branch: 'main',
    } as QueueEntry['operation'],
    priority: kind === 'pull' ? 0 : 100,
    enqueuedAt: new Date(1_700_000_000_000 + i).toISOString(),
    attempts: 0,
    maxAttempts: 10,
    status,
    history: [],
  },
  description: `${kind} number ${i}`,
});
const load = (rows: Row[], state: State = initialState) => reducer(state, { type: 'rows', rows });

describe('TUI reducer', () => {
  it('moves within bounds and scrolls the window to keep the cursor visible', () => {
    let s = load(Array.from({ length: 50 }, (_, i) => row(i, 'pending')));
    s = reducer(s, { type: 'move', delta: -1, height: 10 });
    expect(s.cursor).toBe(0);
    for (let i = 0; i < 15; i++) s = reducer(s, { type: 'move', delta: 1, height: 10 });
    expect(s).toMatchObject({ cursor: 15, offset: 6 });
    s = reducer(s, { type: 'end', height: 10 });
    expect(s).toMatchObject({ cursor: 49, offset: 40 });
    s = reducer(s, { type: 'move', delta: 100, height: 10 });
    expect(s.cursor).toBe(49);
    s = reducer(s, { type: 'home' });
    expect(s).toMatchObject({ cursor: 0, offset: 0 });
  });

  it('filters cycle all → pending → failed → done, and a text filter narrows further', () => {
    let s = load([
      row(1, 'pending'),
      row(2, 'failed'),
      row(3, 'done'),
      row(4, 'expired', 'acquire-lock'),
      row(5, 'superseded'),
    ]);
    const shown = () => visibleRows(s).map((r) => r.entry.status);
    s = reducer(s, { type: 'cycle-filter' });
    expect(shown()).toEqual(['pending']);
    s = reducer(s, { type: 'cycle-filter' });
    expect(shown()).toEqual(['failed', 'expired']);
    s = reducer(s, { type: 'cycle-filter' });
    expect(shown()).toEqual(['done', 'superseded']);
    s = reducer(s, { type: 'cycle-filter' });
    s = reducer(s, { type: 'text-start' });
    for (const ch of 'acq') s = reducer(s, { type: 'text-input', value: ch });
    expect(shown()).toEqual(['expired']);
    s = reducer(s, { type: 'text-cancel' });
    expect(shown()).toHaveLength(5);
  });

  it('keeps the selected entry selected when the queue changes under it', () => {
    let s = load([row(1, 'pending'), row(2, 'pending'), row(3, 'pending')]);
    s = reducer(s, { type: 'move', delta: 2, height: 10 });
    expect(selectedRow(s)?.entry.id).toBe(row(3, 'pending').entry.id);
    s = load([row(0, 'pending'), row(1, 'pending'), row(2, 'pending'), row(3, 'pending')], s);
    expect(selectedRow(s)?.entry.id).toBe(row(3, 'pending').entry.id);
    s = load([row(1, 'pending')], s);
    expect(s.cursor).toBe(0);
  });

  it('tracks live sync progress, retry countdowns and the summary', () => {
    const e = row(1, 'pending').entry;
    let s = reducer(initialState, { type: 'sync-started' });
    expect(s.syncing).toBe(true);
    s = reducer(s, { type: 'sync-event', now: 1000, event: { type: 'entry-started', entry: e } });
    expect(s.progress[e.id]?.phase).toBe('running');
    s = reducer(s, {
      type: 'sync-event',
      now: 1000,
      event: {
        type: 'entry-retry',
        entry: e,
        event: {
          type: 'retry-scheduled',
          attempt: 1,
          delayMs: 5000,
          serverDelay: true,
          remaining: 2,
          maxRetries: 3,
          message: '',
        },
      },
    });
    expect(s.progress[e.id]).toMatchObject({
      phase: 'retrying',
      until: 6000,
      message: 'server asked to wait',
    });
    s = reducer(s, { type: 'sync-event', now: 7000, event: { type: 'entry-done', entry: e } });
    s = reducer(s, {
      type: 'sync-finished',
      summary: { done: 1, failed: 0, deferred: 0, expired: 0, held: 0, remaining: 0 },
    });
    expect(s).toMatchObject({
      syncing: false,
      message: { kind: 'ok', text: 'Sync: 1 done, 0 failed, 0 still queued' },
    });
  });

  it('heartbeat health follows renewals, jeopardy and loss', () => {
    let s = reducer(initialState, { type: 'heartbeat-started' });
    expect(s.heartbeat).toEqual({ state: 'healthy', failures: 0 });
    s = reducer(s, {
      type: 'heartbeat',
      event: { type: 'jeopardy', failures: 2, error: new Error('x'), leaseEndsAt: '' },
    });
    expect(s.heartbeat).toEqual({ state: 'jeopardy', failures: 2 });
    s = reducer(s, { type: 'heartbeat', event: { type: 'lost', error: new Error('x') } });
    expect(s.heartbeat?.state).toBe('lost');
  });
});

describe('TUI reducer: coming back online, rows following their entry', () => {
  const online = { state: 'online', reason: 'ok', checkedAt: 1 } as const;
  const offline = { state: 'offline', reason: 'connect ECONNREFUSED', checkedAt: 1 } as const;

  it('the first online check and every return from offline make a sync due; staying online does not', () => {
    let s = reducer(initialState, { type: 'connectivity', result: online });
    expect(s.autoSyncDue).toBe(true);
    s = reducer(s, { type: 'sync-started' });
    expect(s.autoSyncDue).toBe(false);
    s = reducer(s, { type: 'connectivity', result: online });
    expect(s.autoSyncDue).toBe(false);
    s = reducer(s, { type: 'connectivity', result: offline });
    expect(s.autoSyncDue).toBe(false);
    s = reducer(s, { type: 'connectivity', result: online });
    expect(s.autoSyncDue).toBe(true);
    expect(reducer(s, { type: 'auto-sync-skipped' }).autoSyncDue).toBe(false);
  });

  it('an "Offline: …" message clears when the network is back; other messages stay', () => {
    let s = reducer(initialState, { type: 'connectivity', result: offline });
    s = reducer(s, { type: 'sync-started' });
    s = reducer(s, { type: 'sync-finished', offline: 'Offline: http://h is unreachable' });
    expect(s.message?.text).toBe('Offline: http://h is unreachable');
    s = reducer(s, { type: 'connectivity', result: offline });
    expect(s.message?.text).toBe('Offline: http://h is unreachable');
    s = reducer(s, { type: 'connectivity', result: online });
    expect(s.message).toBeUndefined();
    s = reducer(s, { type: 'message', kind: 'fail', text: 'Lock broken' });
    s = reducer(s, { type: 'connectivity', result: online });
    expect(s.message?.text).toBe('Lock broken');
  });

  it('after a retry the row shows the entry’s new status, not the failure the last sync saw', () => {
    const failed = {
      ...row(1, 'failed').entry,
      attempts: 3,
      reason: { code: 'failed', facts: { kind: 'permanent', reason: 'gone' } },
    };
    let s = load([{ entry: failed, description: 'pull' }]);
    s = reducer(s, { type: 'sync-started' });
    s = reducer(s, {
      type: 'sync-event',
      now: 1,
      event: { type: 'entry-failed', entry: failed },
    });
    s = reducer(s, {
      type: 'sync-finished',
      summary: { done: 0, failed: 1, deferred: 0, expired: 0, held: 0, remaining: 0 },
    });
    // The file still holds the failed entry: the failure stays shown.
    s = load([{ entry: failed, description: 'pull' }], s);
    expect(s.progress[failed.id]?.phase).toBe('failed');
    // `r`: the entry is pending again with fresh attempts.
    s = load([{ entry: { ...failed, status: 'pending', attempts: 0 }, description: 'pull' }], s);
    expect(s.progress[failed.id]).toBeUndefined();
  });
});

describe('footer and terminal-safe text', () => {
  it('the footer fits 80 columns (and 60) and always keeps "? help" and "q quit"', () => {
    for (const width of [120, 80, 60, 40]) {
      const line = footer('[all] 1234 shown', false, width);
      expect(line.length).toBeLessThanOrEqual(width);
      expect(line).toMatch(/q quit$/);
      if (width >= 60) expect(line).toContain('? help');
    }
    expect(footer('[all] 3 shown', false, 120)).toBe(
      '[all] 3 shown · s sync · r retry · l lock · d remove · c clear · / filter · ? help · q quit',
    );
    expect(footer('[all] 3 shown', true, 80)).toContain('x cancel');
  });

  it('removes escape sequences, controls and bidi overrides from foreign text', () => {
    const hostile = 'x\u001b]0;pwned\u0007\u001b[2J\r[ok] forged\u009b31m\u009d0;t\u0007\n[ok] forged\u202e!';
    expect(safe(hostile)).toBe('x [ok] forged [ok] forged!');
    expect(fit(hostile, 12)).toBe('x [ok] forg…');
  });
});
