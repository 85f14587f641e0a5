import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { QueueError } from './errors.js';
import { readStoredEntries } from './journal.js';
import { applyEnqueue } from './plan.js';
import { createQueue } from './store.js';
import { BOOKING_RULES, type BookingOp } from './test-support/rules.js';
import type { QueueRules } from './types.js';

// An adversary's look at the focused enqueue (focus.ts): each case is a queue file a whole read
// accepts, on which a fresh process's enqueue must decide what the whole read decides.

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'queue-focus-adv-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const server = 'http://localhost:3000/gala/seats';
const FOCUSED: QueueRules<BookingOp> = { ...BOOKING_RULES, scopeField: 'project' };
const fetchIn = (project: string, list = 'menu'): BookingOp => ({ kind: 'fetch', project, server, list });

/** What an enqueue in a fresh process decides on `file`, focused and on a copy read whole, and what each stores. */
async function bothWays(
  file: string,
  input: Parameters<ReturnType<typeof createQueue<BookingOp>>['enqueue']>[0],
) {
  const whole = join(dir, 'whole.json');
  copyFileSync(file, whole);
  const outcome = (q: ReturnType<typeof createQueue<BookingOp>>) =>
    q.enqueue(input).then(
      (d) => `${d.outcome}:${d.affected.length}`,
      (e: unknown) => (e as QueueError).code,
    );
  const focused = await outcome(createQueue({ file, rules: FOCUSED }));
  const read = await outcome(createQueue({ file: whole, rules: BOOKING_RULES }));
  const statuses = (f: string) => readStoredEntries<BookingOp>(f).map((e) => e.status);
  return { focused, whole: read, focusedStored: statuses(file), wholeStored: statuses(whole) };
}

/** A queue of `ops` (each enqueued by a fresh process), then written as one snapshot. */
async function snapshotOf(file: string, ops: { operation: BookingOp; idempotencyKey?: string }[]) {
  for (const input of ops) await createQueue({ file, rules: FOCUSED }).enqueue(input);
  // A reordering is written as a new snapshot (the journal folded in); twice: the order as enqueued.
  for (let i = 0; i < 2; i++)
    await createQueue({ file, rules: FOCUSED }).transact((entries) => {
      entries.reverse();
    });
}

describe('a line a whole read accepts but the text search does not find', () => {
  it('hand edit: a space after the colon of "project" hides the lane, so a fetch is not collapsed into it', async () => {
    const file = join(dir, 'queue.json');
    await snapshotOf(file, [{ operation: fetchIn('/mine') }, { operation: fetchIn('/other') }]);
    // The user opens queue.json in an editor and tidies one line: still valid JSON, still one entry a line.
    writeFileSync(file, readFileSync(file, 'utf8').replace('"project":"/mine"', '"project": "/mine"'));
    const got = await bothWays(file, { operation: fetchIn('/mine') });
    // Whole read: the pending fetch of /mine is collapsed into the new one (one fetch left pending).
    expect(got.whole).toBe('collapsed:1');
    expect(got.focused).toBe(got.whole);
    expect(got.focusedStored).toEqual(got.wholeStored);
  });

  it('an idempotency key written with a \\u escape (as json.dumps writes non-ASCII) in another project: the retried enqueue is stored twice', async () => {
    const file = join(dir, 'queue.json');
    await snapshotOf(file, [
      { operation: fetchIn('/other'), idempotencyKey: 'push:Fête-1' },
      { operation: fetchIn('/mine', 'b') },
    ]);
    writeFileSync(file, readFileSync(file, 'utf8').replace('"push:Fête-1"', '"push:F\\u00eate-1"'));
    expect(readStoredEntries<BookingOp>(file)[0]!.idempotencyKey).toBe('push:Fête-1');
    const got = await bothWays(file, { operation: fetchIn('/mine', 'c'), idempotencyKey: 'push:Fête-1' });
    // Whole read: the key is already there, so the retry is refused as a duplicate and nothing is added.
    expect(got.whole).toBe('DUPLICATE');
    expect(got.focused).toBe(got.whole);
    expect(got.focusedStored).toEqual(got.wholeStored);
  });
});

describe('scopes the needle cannot name', () => {
  it('an operation without its scope field (undefined scope): the lane of such entries is not read', async () => {
    const file = join(dir, 'queue.json');
    const noProject = { kind: 'fetch', server, list: 'menu' } as unknown as BookingOp;
    await snapshotOf(file, [{ operation: noProject }, { operation: fetchIn('/other') }]);
    const got = await bothWays(file, { operation: noProject });
    expect(got.whole).toBe('collapsed:1');
    expect(got.focused).toBe(got.whole);
  });
});

const hooks = fileURLToPath(new URL('../../../source-hooks.mjs', import.meta.url));
const writerScript = fileURLToPath(new URL('./test-support/queue-writer.mjs', import.meta.url));

/** A writer process enqueueing `count` fetches with the focused rules; resolves with its exit code and acked keys. */
function focusedWriter(
  file: string,
  tag: string,
  count: number,
): Promise<{ code: number | null; acked: string[] }> {
  const options = JSON.stringify({ count, focused: true, shared: true });
  const child = spawn(process.execPath, ['--import', hooks, writerScript, 'enqueue', file, tag, options], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  return new Promise((resolve) =>
    child.on('close', (code) =>
      resolve({
        code,
        acked: out
          .split('\n')
          .filter((l) => l.startsWith('ack '))
          .map((l) => l.slice(4)),
      }),
    ),
  );
}

describe('focused enqueues in real processes', () => {
  it('6 processes enqueueing 40 entries each into the same three projects: every acknowledged entry once, each writer in its order, collapses as a whole read decides them', async () => {
    const file = join(dir, 'queue.json');
    const runs = await Promise.all(Array.from({ length: 6 }, (_, i) => focusedWriter(file, `w${i}`, 40)));
    expect(runs.map((r) => r.code)).toEqual(Array(6).fill(0));
    // Read whole (and checked) first, then in the file's order (a list puts finished entries last).
    expect(await createQueue({ file, rules: BOOKING_RULES }).list()).toHaveLength(240);
    const keys = readStoredEntries<BookingOp>(file).map((e) => e.idempotencyKey);
    expect(keys).toHaveLength(240);
    expect(new Set(keys).size).toBe(240);
    // Replayed in the file's order (the order they were enqueued in) through a whole read's rule:
    // the same entries superseded, by the same entries.
    const stored = readStoredEntries<BookingOp>(file);
    let replay: typeof stored = [];
    for (const e of stored) {
      const { supersededBy: _by, reason: _reason, completedAt: _at, ...fresh } = e;
      replay = applyEnqueue(BOOKING_RULES, replay, { ...fresh, status: 'pending' }, Date.now()).entries;
    }
    const verdict = (list: typeof stored) =>
      list.map((e) => `${e.idempotencyKey} ${e.status} ${e.supersededBy ?? ''}`);
    expect(verdict(stored)).toEqual(verdict(replay));
    for (const run of runs) {
      expect(run.acked).toHaveLength(40);
      const tag = run.acked[0]!.split(':')[0]!;
      expect(keys.filter((k) => k.startsWith(`${tag}:`))).toEqual(run.acked);
    }
  });
});
