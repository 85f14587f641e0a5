import type { QueueEntry } from '@oxvcs/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, type RunResult, startHarness } from './test-support/harness.js';

/**
 * What a hostile user, record or server might send: a window-title change (OSC), a screen clear
 * (CSI), a carriage return and a newline that would start a forged line, a bare C1 CSI, and a
 * right-to-left override.
 */
const HOSTILE =
  'x\u001b]0;pwned\u0007\u001b[2J\r[ok] Lock acquired successfully\u009b31m\n[ok] Lock acquired successfully\u202e!';

/** Asserts a terminal would show `text` as is: no control byte but line feeds, no bidi override. */
function expectNoControls(text: string) {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is checked
  expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
}
/** …and that nothing in it was forged: no "[ok]" line the command did not write. */
function expectTerminalSafe(text: string) {
  expectNoControls(text);
  expect(text).not.toMatch(/^\s*\[ok\] Lock acquired successfully/m);
}
const both = (r: RunResult) => `${r.stdout}${r.stderr}`;

let h: Harness;
beforeAll(async () => {
  h = await startHarness('hostile');
});
afterAll(() => h.stop());

describe('terminal-safe output (built binary)', () => {
  it('error text and reasons stored in queue.json are shown without their escapes; --json keeps them intact', async () => {
    const home = h.newHome();
    const queue = h.engine(home).queue;
    const remote = h.server.repoUrl('ns', 'hostile');
    await queue.enqueue({
      operation: { kind: 'pull', projectDir: h.dir, remote, branch: `main${HOSTILE}` },
      idempotencyKey: 'hostile:pull',
    });
    await queue.enqueue({
      operation: { kind: 'push', projectDir: h.dir, remote, branch: 'main' },
      idempotencyKey: 'hostile:push',
    });
    await queue.transact((entries) => {
      const [pull, push] = entries as Array<QueueEntry & Record<string, unknown>>;
      Object.assign(pull!, { reason: { code: 'will-retry', facts: { kind: 'transient', reason: HOSTILE } } });
      Object.assign(push!, {
        status: 'failed',
        reason: { code: 'gave-up', facts: { kind: 'transient', reason: HOSTILE, attempts: 3 } },
        lastError: {
          message: HOSTILE,
          kind: 'transient',
          code: 'HTTP_ERROR',
          chain: [{ name: 'OxenError', message: HOSTILE, code: 'HTTP_ERROR' }],
        },
      });
    });

    const status = await h.run(['queue', 'status'], { home });
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('Failed (kept until you retry or remove them)');
    expect(status.stdout).toContain('Lock acquired successfully');
    expectTerminalSafe(both(status));

    const dry = await h.run(['queue', 'sync', '--dry-run'], { home });
    expect(dry.stdout).toContain('would run');
    expectTerminalSafe(both(dry));
    const lock = await h.run(['lock', 'status'], { home });
    expectTerminalSafe(both(lock));

    const json = await h.run(['queue', 'status', '--json'], { home });
    expectNoControls(json.stdout.replace(/\n$/, ''));
    const body = JSON.parse(json.stdout) as { entries: { statusReason: string; lastError: unknown }[] };
    expect(body.entries.map((e) => e.statusReason)).toContain(`Gave up after 3 attempts: ${HOSTILE}`);
  });

  it('another user’s holder name, comment and break reason cannot forge a line or change the terminal', async () => {
    // A holder name with control characters is refused before any record is written (and a
    // record that holds one anyway, written by another tool, reads as corrupt: packages/locks).
    const mallory = h.newHome();
    const taken = await h.run(['lock', 'acquire'], { home: mallory, holder: `mallory${HOSTILE}` });
    expect(taken.code).toBe(2);
    expect(taken.stderr).toContain('OXENVCS_HOLDER');
    expectNoControls(both(taken));

    // A comment and a break reason (free text) from bob.
    const bob = h.newHome();
    const held = await h.run(['lock', 'acquire', '--comment', HOSTILE], { home: bob, holder: 'bob@studio' });
    expect(held.code).toBe(0);
    const refused = await h.run(['lock', 'acquire']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/^\[x\] The lock on this project is held by bob@studio since /);
    expectTerminalSafe(both(refused));
    for (const args of [
      ['lock', 'status'],
      ['lock', 'list'],
    ]) {
      const r = await h.run(args);
      expect(both(r)).toContain('bob@studio');
      expectTerminalSafe(both(r));
    }
    const json = await h.run(['lock', 'acquire', '--json']);
    expect(JSON.parse(json.stdout).error).toMatchObject({ code: 'HELD', holder: 'bob@studio' });
    expectNoControls(json.stdout.replace(/\n$/, ''));

    expect((await h.run(['lock', 'release'], { home: bob, holder: 'bob@studio' })).code).toBe(0);
    expect((await h.run(['lock', 'acquire'])).code).toBe(0);
    const broke = await h.run(['lock', 'break', '--force', '--reason', HOSTILE], {
      home: bob,
      holder: 'bob@studio',
    });
    expect(broke.code).toBe(0);
    expectTerminalSafe(both(broke));
    const seen = await h.run(['lock', 'status']);
    expect(seen.stdout).toContain('your lock was broken by bob@studio');
    expectTerminalSafe(both(seen));
  });
});
