import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fakeNotifiers } from '@oxvcs/oxen-testkit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createNotifier } from './notify.js';

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});
const fakes = () => {
  const f = fakeNotifiers();
  dirs.push(f.dir);
  return f;
};

describe('desktop notifications (issue 22)', () => {
  it('Linux: notify-send on PATH gets the title and body as plain arguments, after `--`', async () => {
    const f = fakes();
    const result = await createNotifier({ env: { PATH: f.path }, platform: 'linux' }).notify(
      'Your turn: lock acquired',
      '-Song is yours now',
    );
    expect(result).toEqual({ sent: true, via: 'notify-send' });
    await vi.waitFor(() => expect(f.calls('notify-send')).toHaveLength(1));
    expect(f.calls('notify-send')[0]).toEqual([
      '--app-name=oxenvcs',
      '--',
      'Your turn: lock acquired',
      '-Song is yours now',
    ]);
  });

  it('macOS: osascript gets the texts as arguments of a fixed script (quotes never become script source)', async () => {
    const f = fakes();
    const body = 'Song "x" is yours\'; do shell script "rm -rf ~"';
    expect(
      await createNotifier({ env: { PATH: f.path }, platform: 'darwin' }).notify('Lock lost', body),
    ).toEqual({
      sent: true,
      via: 'osascript',
    });
    await vi.waitFor(() => expect(f.calls('osascript')).toHaveLength(1));
    const args = f.calls('osascript')[0] ?? [];
    expect(args.slice(0, 6)).toEqual([
      '-e',
      'on run argv',
      '-e',
      'display notification (item 2 of argv) with title (item 1 of argv)',
      '-e',
      'end run',
    ]);
    expect(args.slice(6)).toEqual(['Lock lost', body]);
  });

  it('off by config, or no notifier on PATH: nothing is run, and the caller is told why', async () => {
    const f = fakes();
    expect(
      await createNotifier({ enabled: false, env: { PATH: f.path }, platform: 'linux' }).notify('t', 'b'),
    ).toEqual({
      sent: false,
      why: 'off',
    });
    const empty = mkdtempSync(join(tmpdir(), 'oxvcs-nopath-'));
    dirs.push(empty);
    expect(await createNotifier({ env: { PATH: empty }, platform: 'linux' }).notify('t', 'b')).toEqual({
      sent: false,
      why: 'unavailable',
    });
    // A Linux machine with only osascript (or a Mac with only notify-send) has no notifier either.
    rmSync(join(f.dir, 'notify-send'));
    expect(await createNotifier({ env: { PATH: f.path }, platform: 'linux' }).notify('t', 'b')).toMatchObject(
      {
        sent: false,
      },
    );
    expect(f.calls('notify-send')).toHaveLength(0);
  });

  it('texts are one terminal-safe line of at most 200 characters', async () => {
    const f = fakes();
    await createNotifier({ env: { PATH: `${f.path}${delimiter}/nonexistent` }, platform: 'linux' }).notify(
      'a\u001b[31mred\nline',
      'x'.repeat(500),
    );
    await vi.waitFor(() => expect(f.calls('notify-send')).toHaveLength(1));
    const [, , title, body] = f.calls('notify-send')[0] ?? [];
    expect(title).toBe('ared line');
    expect(body?.length).toBeLessThanOrEqual(200);
  });
});
