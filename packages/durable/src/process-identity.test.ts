import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkProcess, identify, isRunning, signalProcess } from './process-identity.js';
import { canUnshare, inNamespaces } from './test-support/namespace.js';

const exited = (child: ReturnType<typeof spawn>) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });

describe('process identity', () => {
  it('this process is running; a pid that cannot exist is gone', () => {
    const me = identify();
    expect(me.pid).toBe(process.pid);
    expect(checkProcess(me)).toBe('running');
    expect(checkProcess({ pid: 2 ** 30 })).toBe('gone');
    expect(checkProcess({ pid: 0 })).toBe('gone');
    expect(identify(2 ** 30)).toBeUndefined();
  });

  it.skipIf(process.platform !== 'linux')(
    'a process with another start time under the same pid is gone',
    () => {
      const me = identify();
      expect(me.start).toMatch(/:\d+$/);
      const other = { ...me, start: me.start!.replace(/\d+$/, (t) => `${Number(t) + 1}`) };
      expect(checkProcess(other)).toBe('gone');
      expect(signalProcess(other, 'SIGCONT')).toBe(false);
    },
  );

  it('a child that ended is gone and is not signalled; a stopped one is stopped', async () => {
    const child = spawn('sleep', ['1000'], { stdio: 'ignore' });
    const recorded = identify(child.pid!)!;
    expect(checkProcess(recorded)).toBe('running');
    if (process.platform === 'linux') {
      child.kill('SIGSTOP');
      await expect.poll(() => checkProcess(recorded)).toBe('stopped');
      expect(isRunning(recorded)).toBe(true);
      child.kill('SIGCONT');
    }
    child.kill('SIGKILL');
    await exited(child);
    expect(checkProcess(recorded)).toBe('gone');
    expect(signalProcess(recorded, 'SIGTERM')).toBe(false);
  });

  it.skipIf(!canUnshare)(
    'a pid reused by another process (for real, in a pid namespace; needs root on Linux) is gone, and never signalled',
    () => {
      const script = fileURLToPath(new URL('./test-support/pid-reuse.mjs', import.meta.url));
      const run = inNamespaces('true', script, []);
      expect(run.status, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual({
        reused: true,
        before: 'running',
        after: 'gone',
        running: false,
        signalled: false,
        // What a bare pid says (the defect this module exists for): alive.
        pidOnly: true,
        secondAlive: true,
      });
    },
  );
});
