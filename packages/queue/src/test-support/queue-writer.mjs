// A child process writing the queue, for the crash and takeover tests. Runs the sources (start it
// with `--import <root>/source-hooks.mjs`). Every line it prints is written synchronously, so a line the
// parent has read happened before any later kill or stop.
//
// argv: mode file tag [options JSON]
//   enqueue           enqueue `count` entries (keys tag:0, tag:1…), print `ack <key>` after each
//   enqueue-forever   the same without end
//   hold              one read-modify-write adding the entry tag:held; inside it, print `inside`
//                     and wait for a byte on stdin (the first time only), then commit
// options: { count, staleLockMs, lockWaitMs, pauseAt: { event, n }, focused, shared } — focused: the
// rules name their scope's field (an enqueue reads only its project's lines, as oxvcs's do); shared:
// the projects are /p/shared-0…2 for every writer (otherwise each writer's own) — at the n-th store event of
// that type, print `at <event>` and wait for a byte on stdin. Store events are printed as
// `event <json>`; a failure as `error <json>` (exit 1).
import { readSync, writeSync } from 'node:fs';

const { createQueue } = await import('../store.ts');
const { BOOKING_RULES } = await import('./rules.ts');

const [mode, file, tag, json = '{}'] = process.argv.slice(2);
const options = JSON.parse(json);
const say = (line) => writeSync(1, `${line}\n`);

const waitForParent = () => {
  const byte = Buffer.alloc(1);
  const nap = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      readSync(0, byte);
      return;
    } catch (error) {
      if (error.code !== 'EAGAIN') throw error;
      Atomics.wait(nap, 0, 0, 5);
    }
  }
};

const counts = new Map();
const queue = createQueue({
  file,
  rules: options.focused ? { ...BOOKING_RULES, scopeField: 'project' } : BOOKING_RULES,
  lockWaitMs: options.lockWaitMs ?? 60_000,
  ...(options.staleLockMs ? { staleLockMs: options.staleLockMs } : {}),
  onEvent(event) {
    say(`event ${JSON.stringify(event)}`);
    const n = (counts.get(event.type) ?? 0) + 1;
    counts.set(event.type, n);
    if (options.pauseAt?.event === event.type && options.pauseAt.n === n) {
      say(`at ${event.type}`);
      waitForParent();
    }
  },
});

const op = (i) => ({
  kind: 'fetch',
  project: options.shared ? `/p/shared-${i % 3}` : `/p/${tag}-${i % 7}`,
  server: 'http://127.0.0.1:1/ns/r',
  list: `b${i}`,
});

try {
  if (mode === 'enqueue' || mode === 'enqueue-forever') {
    const count = mode === 'enqueue' ? (options.count ?? 1) : Number.POSITIVE_INFINITY;
    for (let i = 0; i < count; i++) {
      const { entry } = await queue.enqueue({ operation: op(i), idempotencyKey: `${tag}:${i}` });
      say(`ack ${entry.idempotencyKey}`);
    }
  } else if (mode === 'hold') {
    let paused = false;
    await queue.transact((entries) => {
      if (!paused) {
        paused = true;
        say('inside');
        waitForParent();
      }
      entries.push({
        id: `${tag.toUpperCase()}HELD`,
        idempotencyKey: `${tag}:held`,
        operation: op(0),
        priority: 0,
        enqueuedAt: new Date().toISOString(),
        attempts: 0,
        maxAttempts: 10,
        status: 'pending',
        history: [],
      });
    });
    say(`ack ${tag}:held`);
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
} catch (error) {
  say(
    `error ${JSON.stringify({ name: error.name, code: error.code, problem: error.problem, folder: error.folder, errno: error.errno })}`,
  );
  process.exitCode = 1;
}
