import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { QueueEntry, RunSummary } from '@oxvcs/engine';
import { createEngine } from '@oxvcs/engine';
import { describe, expect, it } from 'vitest';
import {
  awayLines,
  fit,
  footer,
  keepAliveLines,
  lockLine,
  lostLines,
  pushNoteLines,
  reasonText,
  refusedProject,
  refusedStateDir,
  safe,
  transferLine,
} from './format.js';
import {
  initialState,
  type Row,
  reducer,
  type State,
  selectedRow,
  serverNow,
  visibleRows,
} from './reducer.js';

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

  it('a sync that expired or failed entries says so in red, as the CLI does; one that left entries queued in yellow', () => {
    const finish = (counts: Partial<RunSummary>) =>
      reducer(
        { ...initialState, syncing: true },
        {
          type: 'sync-finished',
          summary: { done: 1, failed: 0, deferred: 0, expired: 0, held: 0, remaining: 0, ...counts },
        },
      ).message;
    expect(finish({ expired: 1 })).toEqual({
      kind: 'fail',
      text: 'Sync: 1 done, 0 failed, 1 expired, 0 still queued',
    });
    expect(finish({ failed: 1 })).toEqual({ kind: 'fail', text: 'Sync: 1 done, 1 failed, 0 still queued' });
    expect(finish({ remaining: 2, stopped: 'offline' })).toEqual({
      kind: 'warn',
      text: 'Sync: 1 done, 0 failed, 2 still queued (offline)',
    });
    expect(finish({})?.kind).toBe('ok');
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

  it('a loss by its own keep-alive raises the lost banner (with why) until Esc, or until the lock is yours again', () => {
    let s = reducer(initialState, { type: 'heartbeat-started' });
    s = reducer(s, {
      type: 'heartbeat',
      event: { type: 'lost', error: new Error('broken by bob at 2026-12-06T12:00:00Z') },
      now: 1000,
    });
    expect(s.lost).toEqual({ at: 1000, reason: 'broken by bob at 2026-12-06T12:00:00Z' });
    expect(reducer(s, { type: 'lost-dismiss' }).lost).toBeUndefined();
    // Someone else's lock read afterwards does not hide it; the lock yours again does.
    const other = { state: 'held-by-other', key: '.', lease: {} } as never;
    expect(reducer(s, { type: 'lock', lock: other }).lost).toBeDefined();
    const yours = { state: 'held-by-you', key: '.', lease: {} } as never;
    expect(reducer(s, { type: 'lock', lock: yours }).lost).toBeUndefined();
    const [title, hint] = lostLines(
      { at: 1000, reason: 'Broken by bob at 2026-12-06T12:00:00Z.' },
      'The lock on Song',
    );
    expect(title?.colour).toBe('red');
    expect(title?.text).toMatch(
      /^✗ LOCK LOST at .*: The lock on Song is no longer yours \(Broken by bob at (?:\d{4}-\d\d-\d\d )?\d\d:\d\d\)$/,
    );
    expect(hint?.text).toContain('Esc hides this');
  });
});

describe('TUI reducer: coming back online, rows following their entry', () => {
  const online = {
    state: 'online',
    reason: { code: 'requests-answered', origin: 'http://h' },
    checkedAt: 1,
  } as const;
  const offline = {
    state: 'offline',
    reason: { code: 'unreachable', origin: 'http://h', errno: 'ECONNREFUSED' },
    checkedAt: 1,
  } as const;

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

describe('while you were away, transfer progress, keep-alive', () => {
  const NOW = Date.parse('2026-03-01T12:00:00Z');
  const at = (ms: number) => new Date(ms).toISOString();

  it('the away banner holds what it is given until Esc dismisses it; nothing to tell shows nothing', () => {
    expect(reducer(initialState, { type: 'away', entries: [] }).away).toBeUndefined();
    const failed = row(1, 'failed').entry;
    const s = reducer(initialState, { type: 'away', entries: [failed] });
    expect(s.away).toEqual([failed]);
    expect(reducer(s, { type: 'away-dismiss' }).away).toBeUndefined();
  });

  it('an entry the first sync already showed failing is not in the banner when its read answers after', () => {
    const seen = row(1, 'failed').entry;
    const missed = row(2, 'failed').entry;
    let s = reducer(initialState, { type: 'sync-started' });
    s = reducer(s, { type: 'sync-event', now: 1, event: { type: 'entry-failed', entry: seen } });
    s = reducer(s, { type: 'away', entries: [seen, missed] });
    expect(s.away).toEqual([missed]);
    expect(reducer(s, { type: 'away', entries: [seen] }).away).toEqual([missed]);
  });

  it('the banner names each entry with its id and reason (terminal-safe), then how to act', () => {
    const failed = {
      ...row(1, 'failed', 'acquire-lock').entry,
      reason: {
        code: 'failed',
        facts: { kind: 'conflict', reason: 'Held by bob\u001b[2J until 2026-03-01T18:00:00Z.' },
      },
    };
    const expired = {
      ...row(2, 'expired').entry,
      reason: { code: 'expired', facts: { expiresAt: '2026-03-01T11:00:00Z' } },
    };
    const more = [row(3, 'failed').entry, row(4, 'failed').entry];
    const lines = awayLines([failed, expired, ...more], (e) => `Op ${e.idempotencyKey}`, NOW, 3).map(
      (l) => l.text,
    );
    const time = (iso: string) => new Date(iso).toTimeString().slice(0, 5);
    expect(lines).toEqual([
      'While you were away, 4 queued operations failed or expired:',
      `✗ Failed: Op k1 (${failed.id.slice(-8).toLowerCase()}): Held by bob until ${time('2026-03-01T18:00:00Z')}.`,
      `⚠ Expired: Op k2 (${expired.id.slice(-8).toLowerCase()}): expired at ${time('2026-03-01T11:00:00Z')} before it could run`,
      `✗ Failed: Op k3 (${more[0]!.id.slice(-8).toLowerCase()}): failed`,
      '  …and 1 more (Tab shows failed entries)',
      '  Select one below: r retry · d remove · Esc hides this',
    ]);
  });

  it('a transfer shows progress with rate and time left, and goes when its entry or the sync ends', () => {
    const push = row(1, 'pending', 'push').entry;
    let s = reducer(initialState, { type: 'sync-started' });
    s = reducer(s, { type: 'sync-event', now: NOW, event: { type: 'entry-started', entry: push } });
    s = reducer(s, {
      type: 'transfer',
      operation: 'push',
      progress: { bytesDone: 0, bytesTotal: 4 * 1024 * 1024, filesDone: 0, filesTotal: 4 },
      now: NOW,
    });
    s = reducer(s, {
      type: 'transfer',
      operation: 'push',
      progress: { bytesDone: 1024 * 1024, bytesTotal: 4 * 1024 * 1024, filesDone: 1, filesTotal: 4 },
      now: NOW + 2000,
    });
    expect(s.transfer).toMatchObject({ startedAt: NOW, at: NOW + 2000 });
    expect(transferLine(s.transfer!)).toBe(
      '[####------------] Pushing: 25% 1.0/4.0 MiB 1/4 files at 0.5 MiB/s, 6 s left',
    );
    // Another entry's end leaves it; the push's own end takes it away.
    s = reducer(s, {
      type: 'sync-event',
      now: NOW,
      event: { type: 'entry-done', entry: row(2, 'done', 'acquire-lock').entry },
    });
    expect(s.transfer).toBeDefined();
    s = reducer(s, { type: 'sync-event', now: NOW, event: { type: 'entry-done', entry: push } });
    expect(s.transfer).toBeUndefined();
    s = reducer(s, {
      type: 'transfer',
      operation: 'pull',
      progress: { bytesDone: 3 * 1024 * 1024 },
      now: NOW,
    });
    expect(transferLine(s.transfer!)).toBe('Pulling: 3.0 MiB');
    s = reducer(s, { type: 'sync-finished', error: 'stopped' });
    expect(s.transfer).toBeUndefined();
  });

  it('a push resuming a take cut partway says how much is on the remote above its progress, while it runs', () => {
    const push = row(1, 'pending', 'push').entry;
    let s = reducer(initialState, { type: 'sync-started' });
    s = reducer(s, { type: 'sync-event', now: NOW, event: { type: 'entry-started', entry: push } });
    s = reducer(s, {
      type: 'push-resume',
      resume: { partsTotal: 10, partsPresent: 7, bytesTotal: 2e9, bytesPresent: 1.4e9 },
    });
    const said = [
      'ℹ Resuming the push: 7 of 10 parts already on the remote, 1.4 of 2.0 GB; the rest goes one',
      '  part at a time.',
    ];
    expect(pushNoteLines(s, 90, 5).map((l) => l.text)).toEqual(said);
    // Progress frames draw the progress line; the resume line stays above it.
    for (const done of [0, 1e8, 3e8])
      s = reducer(s, {
        type: 'transfer',
        operation: 'push',
        progress: { bytesDone: 1.4e9 + done, bytesTotal: 2e9 },
        now: NOW + done / 1e5,
      });
    expect(s.transfer).toBeDefined();
    expect(pushNoteLines(s, 90, 5)).toEqual(said.map((text) => ({ text, colour: 'cyan' })));
    // Another entry's end leaves it; the push's own end takes it away with the progress line.
    s = reducer(s, {
      type: 'sync-event',
      now: NOW,
      event: { type: 'entry-done', entry: row(2, 'done', 'acquire-lock').entry },
    });
    expect(pushNoteLines(s, 90, 5)).toHaveLength(2);
    s = reducer(s, {
      type: 'sync-event',
      now: NOW,
      event: { type: 'entry-deferred', entry: push, until: at(NOW + 60_000) },
    });
    expect(s.resume).toBeUndefined();
    expect(pushNoteLines(s, 90, 5)).toEqual([]);
    // A whole take on the remote leaves only the branch; a sync that ends (here in an error) takes the line too.
    s = reducer(s, {
      type: 'push-resume',
      resume: { partsTotal: 4, partsPresent: 4, bytesTotal: 3_840_015, bytesPresent: 3_840_015 },
    });
    expect(pushNoteLines(s, 200, 5).map((l) => l.text)).toEqual([
      'ℹ Resuming the push: 4 of 4 parts already on the remote, 3.8 of 3.8 MB; only the branch is left to move.',
    ]);
    s = reducer(s, { type: 'sync-finished', error: 'stopped' });
    expect(s.resume).toBeUndefined();
  });

  it('what a push sends that cannot resume midway is warned of once per fact, until Esc or the next sync', () => {
    const over = { recorded: true, parts: [3], bytes: 1_400_000, partBytes: 1_000_000 } as const;
    const loose = { recorded: false, bytes: 3_800_000, partBytes: 1_000_000 } as const;
    let s = reducer(initialState, { type: 'sync-started' });
    s = reducer(s, { type: 'push-unresumable', fact: over });
    // A retried run of the same push tells the same fact again: it is not warned of twice.
    const once = reducer(s, {
      type: 'push-unresumable',
      fact: { partBytes: 1_000_000, bytes: 1_400_000, parts: [3], recorded: true },
    });
    expect(once).toBe(s);
    expect(pushNoteLines(s, 300, 5)).toEqual([
      {
        text: '⚠ Part 3 of this take is larger than its 1.0 MB part size (1.4 MB): a push cut inside one sends it again from its start, as Oxen resumes only whole commits; next time keep single files under the part size (bounce or split them). (Esc hides this)',
        colour: 'yellow',
      },
    ]);
    s = reducer(s, { type: 'push-unresumable', fact: loose });
    expect(pushNoteLines(s, 300, 5).map((l) => l.text)).toEqual([
      expect.stringMatching(/^⚠ Part 3 of this take/),
      '⚠ This push sends 3.8 MB in commits not recorded as parts: a push cut midway sends the commit it was in again from its start, as Oxen resumes only whole commits; next time record the take with `oxenvcs commit -m "…" --part-size 1.0MB` so a cut costs at most one part. (Esc hides this)',
    ]);
    // The warning outlives the push and the sync: it is advice for next time.
    s = reducer(s, {
      type: 'sync-finished',
      summary: { done: 1, failed: 0, deferred: 0, expired: 0, held: 0, remaining: 0 },
    });
    expect(s.unresumable).toHaveLength(2);
    s = reducer(s, { type: 'unresumable-dismiss' });
    expect(pushNoteLines(s, 300, 5)).toEqual([]);
    // A later sync running the same push again does not warn again; a new fact is warned of, and
    // goes when the next sync starts.
    s = reducer(s, { type: 'sync-started' });
    s = reducer(s, { type: 'push-unresumable', fact: over });
    expect(s.unresumable).toBeUndefined();
    s = reducer(s, { type: 'push-unresumable', fact: { ...over, parts: [2, 5], bytes: 2_000_000 } });
    expect(pushNoteLines(s, 300, 5).map((l) => l.text)).toEqual([
      expect.stringMatching(
        /^⚠ Parts 2, 5 of this take are larger than its 1\.0 MB part size \(2\.0 MB the largest\): /,
      ),
    ]);
    s = reducer(s, { type: 'sync-started' });
    expect(s.unresumable).toBeUndefined();
  });

  it('the push notes wrap at the screen width and fit the room they are given', () => {
    const s = reducer(
      reducer(initialState, {
        type: 'push-resume',
        resume: { partsTotal: 10, partsPresent: 7, bytesTotal: 2e9, bytesPresent: 1.4e9 },
      }),
      { type: 'push-unresumable', fact: { recorded: false, bytes: 3_800_000, partBytes: 1_000_000 } },
    );
    const lines = pushNoteLines(s, 80, 10);
    expect(lines.map((l) => l.colour)).toEqual(['cyan', 'cyan', 'yellow', 'yellow', 'yellow', 'yellow']);
    for (const line of lines) expect(line.text.length).toBeLessThanOrEqual(80);
    expect(
      lines
        .slice(2)
        .map((l) => l.text.trim())
        .join(' '),
    ).toContain(
      'next time record the take with `oxenvcs commit -m "…" --part-size 1.0MB` so a cut costs at most one part.',
    );
    const short = pushNoteLines(s, 80, 3);
    expect(short).toHaveLength(3);
    expect(short[2]!.text).toMatch(/…$/);
    expect(short[2]!.text.length).toBeLessThanOrEqual(80);
    expect(pushNoteLines(s, 80, 0)).toEqual([]);
  });

  it('a renewal records when it got through and the new lease end; jeopardy keeps them', () => {
    let s = reducer(initialState, { type: 'heartbeat-started' });
    const grant = { expiresAt: at(NOW + 4 * 3_600_000) } as never;
    s = reducer(s, { type: 'heartbeat', event: { type: 'renewed', grant }, now: NOW });
    expect(s.heartbeat).toEqual({
      state: 'healthy',
      failures: 0,
      renewedAt: NOW,
      leaseEndsAt: at(NOW + 4 * 3_600_000),
    });
    s = reducer(s, {
      type: 'heartbeat',
      event: { type: 'jeopardy', failures: 2, error: new Error('x'), leaseEndsAt: at(NOW + 3_600_000) },
    });
    expect(s.heartbeat).toEqual({
      state: 'jeopardy',
      failures: 2,
      renewedAt: NOW,
      leaseEndsAt: at(NOW + 3_600_000),
    });
    expect(reducer(s, { type: 'heartbeat-declined' }).heartbeat).toBeUndefined();
  });

  it('the keep-alive lines say who runs it, its health, and when the lease ends', () => {
    const time = (ms: number) => new Date(ms).toTimeString().slice(0, 5);
    const lease = { expiresAt: at(NOW + 3 * 3_600_000) };
    const lock = { state: 'held-by-you', key: '.', lease } as never;
    const note = {
      remote: 'r',
      key: '.',
      state: 'healthy' as const,
      failures: 0,
      pid: 4242,
      updatedAt: at(NOW - 120_000),
      expiresAt: at(NOW + 3 * 3_600_000),
    };
    expect(keepAliveLines({ lock, note, live: undefined, ownPid: 1, now: NOW })).toEqual({
      state: 'Keep-alive: running in the background (pid 4242)',
      detail: `last confirmed ${time(NOW - 120_000)} (2m ago); the lease ends ${time(NOW + 3 * 3_600_000)} (in 3h00m)`,
    });
    expect(
      keepAliveLines({
        lock,
        note: { ...note, nextRenewalAt: at(NOW + 3_600_000) },
        live: undefined,
        ownPid: 1,
        now: NOW,
      })?.state,
    ).toBe(`Keep-alive: running in the background (pid 4242), next renewal ${time(NOW + 3_600_000)}`);
    expect(
      keepAliveLines({
        lock,
        note: { ...note, pid: 1 },
        live: { state: 'jeopardy', failures: 3 },
        ownPid: 1,
        now: NOW,
      }),
    ).toEqual({
      state: 'Keep-alive: IN JEOPARDY in this window (3 renewals failed)',
      detail: `the lease ends ${time(NOW + 3 * 3_600_000)} (in 3h00m) unless a renewal gets through`,
      colour: 'yellow',
    });
    expect(keepAliveLines({ lock, note: undefined, live: undefined, ownPid: 1, now: NOW })).toEqual({
      state: 'Keep-alive: none',
      detail: `the lease ends ${time(NOW + 3 * 3_600_000)} (in 3h00m) unless you renew it (n)`,
      colour: 'yellow',
    });
    expect(
      keepAliveLines({
        lock: { state: 'unlocked', key: '.' } as never,
        note: { ...note, state: 'lost', reason: 'broken by bob\u001b]0;x\u0007' },
        live: undefined,
        ownPid: 1,
        now: NOW,
      }),
    ).toEqual({ state: 'Keep-alive: STOPPED, the lock was lost', detail: 'broken by bob', colour: 'red' });
    expect(
      keepAliveLines({
        lock: { state: 'unlocked', key: '.' } as never,
        note: undefined,
        live: undefined,
        ownPid: 1,
        now: NOW,
      }),
    ).toBeUndefined();
  });
});

describe('lease times on the server’s clock', () => {
  const SERVER = Date.parse('2026-03-08T12:00:00Z');
  const WEEK = 7 * 24 * 3_600_000;
  // This machine's clock runs a week behind the server's: a lease's times are never set against it.
  const local = SERVER - WEEK;
  const iso = (ms: number) => new Date(ms).toISOString();
  const lease = (end: number, renewed = SERVER) =>
    ({
      key: '.',
      lockId: 'l',
      holder: 'ada@laptop',
      machineId: 'm',
      acquiredAt: iso(SERVER),
      expiresAt: iso(end),
      lastHeartbeat: iso(renewed),
      ttlMs: 3_600_000,
      fencingToken: 3,
      ticket: 3,
    }) as const;

  it('a lease’s time left is its end less the server time of the read, counted down on the monotonic clock since', () => {
    const s = reducer(initialState, {
      type: 'lock',
      lock: { state: 'held-by-you', key: '.', lease: lease(SERVER + 3_600_000) },
      read: { server: SERVER, mono: 5_000 },
    });
    expect(lockLine(s.lock, serverNow(s.serverClock, 5_000, local))).toBe(
      'Lock: YOURS, 1h00m left (token 3)',
    );
    expect(lockLine(s.lock, serverNow(s.serverClock, 5_000 + 10 * 60_000, local))).toBe(
      'Lock: YOURS, 50m left (token 3)',
    );
    // Someone else's lease, read later, on a machine a week ahead: not "ended days ago".
    const other = reducer(s, {
      type: 'lock',
      lock: {
        state: 'held-by-other',
        key: '.',
        lease: { ...lease(SERVER + 2 * 3_600_000), holder: 'bob@studio' },
      },
      read: { server: SERVER + 3_600_000, mono: 9_000 },
    });
    expect(lockLine(other.lock, serverNow(other.serverClock, 9_000 + 60_000, SERVER + WEEK))).toBe(
      'Lock: held by bob@studio, 59m left',
    );
    // No read of the server's clock yet: the fallback given.
    expect(serverNow(undefined, 5_000, local)).toBe(local);
    // A read that failed keeps the last reading (its lease is not shown, the clock stays right).
    expect(reducer(other, { type: 'lock', error: 'unknown (offline)' }).serverClock).toEqual(
      other.serverClock,
    );
  });

  it('a renewal by this window’s keep-alive reads the server’s clock too: the lease end it tells is counted from it', () => {
    let s = reducer(initialState, {
      type: 'lock',
      lock: { state: 'held-by-you', key: '.', lease: lease(SERVER + 3_600_000) },
      read: { server: SERVER, mono: 0 },
    });
    s = reducer(s, { type: 'heartbeat-started' });
    s = reducer(s, {
      type: 'heartbeat',
      event: {
        type: 'renewed',
        grant: { ...lease(SERVER + 90 * 60_000, SERVER + 30 * 60_000), alreadyHeld: true },
      },
      now: local + 30 * 60_000,
      mono: 30 * 60_000,
    });
    expect(s.serverClock).toEqual({ server: SERVER + 30 * 60_000, mono: 30 * 60_000 });
    const lines = keepAliveLines({
      lock: s.lock,
      note: undefined,
      live: s.heartbeat,
      ownPid: 1,
      now: local + 40 * 60_000,
      serverNow: serverNow(s.serverClock, 40 * 60_000, local + 40 * 60_000),
    });
    expect(lines?.detail).toMatch(/^last confirmed .* \(10m ago\); the lease ends .* \(in 50m\)$/);
  });
});

describe('reason text', () => {
  it('every reason code the queue and the engine store has words, never the bare code', () => {
    const facts = {
      reason: 'r',
      kind: 'transient',
      attempts: 3,
      expiresAt: 'x',
      text: 't',
      entry: 'abcd1234',
      at: 'x',
      project: '/music/Song',
      field: 'branch',
      problem: 'option-like',
    };
    for (const code of [
      'will-retry',
      'gave-up',
      'failed',
      'expired',
      'interrupted',
      'note',
      'cancelled-by-release',
      'cancelled-with-acquire',
      'replaced',
      'lease-ended',
      'project-gone',
      'invalid-input',
    ])
      expect(reasonText({ code, facts }), code).not.toBe(code);
  });
});

describe('a state folder the engine refuses, in the TUI’s words', () => {
  it('a relative OXENVCS_HOME, or one inside a repository, says what to do; anything else is not worded here', () => {
    let error: unknown;
    try {
      createEngine({ cwd: '/', env: { OXENVCS_HOME: 'state' } });
    } catch (e) {
      error = e;
    }
    expect(refusedStateDir(error)).toBe(
      'OXENVCS_HOME ("state") is a relative path, which would follow the folder you are in; set OXENVCS_HOME to an absolute path outside any project (e.g. "$HOME/.oxenvcs"), or unset it.',
    );
    expect(refusedStateDir(new Error('other'))).toBeUndefined();
  });
});

describe('no project, or a remote URL that is not one, in the TUI’s words', () => {
  const refusal = (options: { cwd: string; remote?: string }) => {
    try {
      createEngine({ ...options, env: { OXENVCS_HOME: join(options.cwd, '..', 'state') } }).project();
    } catch (error) {
      return error;
    }
    throw new Error('the engine accepted it');
  };

  it('the library gives the facts, the TUI names its own flags; credentials are never shown', () => {
    const top = mkdtempSync(join(tmpdir(), 'oxvcs-tui-refused-'));
    try {
      const empty = join(top, 'empty');
      mkdirSync(empty);
      const none = refusal({ cwd: empty });
      expect((none as Error).message).not.toContain('--project');
      expect(refusedProject(none)).toBe(
        `No Oxen repository at ${empty} or above it; start oxenvcs-tui inside a project (or pass --project).`,
      );
      const project = join(top, 'song');
      mkdirSync(join(project, '.oxen'), { recursive: true });
      const secret = refusal({ cwd: project, remote: 'http://ada:hunter2@localhost:3000/ada/song' });
      expect((secret as Error).message).not.toContain('auth login');
      expect(refusedProject(secret)).toBe(
        'The remote URL "http://***@localhost:3000/ada/song" carries credentials; remove them from the URL and store the token with `oxenvcs auth login`.',
      );
      const shape = refusal({ cwd: project, remote: 'http://localhost:3000/only-one' });
      expect(refusedProject(shape)).toBe(
        'The remote URL "http://localhost:3000/only-one" is not of the form http(s)://host[:port]/<namespace>/<repo>; fix the repository\'s remote or --remote.',
      );
      expect(refusedProject(new Error('other'))).toBeUndefined();
    } finally {
      rmSync(top, { recursive: true, force: true });
    }
  });
});
