import { describe, expect, it } from 'vitest';
import { type HeartbeatEvent, startHeartbeat } from './heartbeat.js';
import type { Grant, LockManager } from './manager.js';

const TTL = 60_000;
const grantAt = (at: number): Grant => ({
  key: '.',
  lockId: 'l',
  holder: 'ada@laptop',
  machineId: 'machine-ada',
  acquiredAt: new Date(0).toISOString(),
  lastHeartbeat: new Date(at).toISOString(),
  expiresAt: new Date(at + TTL).toISOString(),
  ttlMs: TTL,
  fencingToken: 1,
  ticket: 1,
  alreadyHeld: true,
});

/**
 * A keep-alive on fake clocks: `steps` say how far the wall and monotonic clocks move during each
 * wait (a frozen process moves both; a wall clock set back moves only the monotonic one).
 */
async function run(steps: ReadonlyArray<{ wall: number; mono: number } | 'interval'>) {
  let wall = 0;
  let mono = 0;
  const renewals: number[] = [];
  const events: HeartbeatEvent[] = [];
  // A fake of the manager's one method the keep-alive uses: every renewal gets through.
  const manager = {
    renew: async () => {
      renewals.push(wall);
      return grantAt(wall);
    },
  } as unknown as LockManager;
  let i = 0;
  const heartbeat = startHeartbeat(manager, {
    key: undefined,
    ttlMs: TTL,
    grant: grantAt(0),
    clock: { now: () => wall },
    monotonic: { now: () => mono },
    sleep: async (ms) => {
      const step = steps[i++];
      if (step === undefined) {
        heartbeat.stop();
        throw new Error('stopped');
      }
      wall += step === 'interval' ? ms : step.wall;
      mono += step === 'interval' ? ms : step.mono;
    },
    onEvent: (e) => events.push(e),
  });
  const end = await heartbeat.done;
  return { end, renewals, events };
}

describe('keep-alive and its local deadline (issue 19 §7)', () => {
  it('renews at a third of the lease while the process runs', async () => {
    const { end, renewals } = await run(['interval', 'interval', 'interval']);
    expect(end).toBe('stopped');
    expect(renewals).toEqual([20_000, 40_000, 60_000]);
  });

  it('frozen for 75 s with a 1-minute lease: no renewal is sent; it says when the lease lapsed and for how long the lock was free', async () => {
    const { end, renewals, events } = await run([{ wall: 75_000, mono: 75_000 }]);
    expect(end).toBe('lost');
    expect(renewals).toEqual([]);
    const lost = events.find((e) => e.type === 'lost');
    expect(lost).toMatchObject({ lapsed: { at: new Date(TTL).toISOString(), freeForMs: 15_000 } });
    expect(lost?.type === 'lost' && lost.error).toMatchObject({
      code: 'LOST',
      freeForMs: 15_000,
      message: expect.stringMatching(/lapsed at 1970-01-01T00:01:00.000Z and the lock was free for 15 s/),
    });
  });

  it('a wall clock set back while frozen still counts: the monotonic clock ends the lease too', async () => {
    const { end, renewals } = await run(['interval', { wall: -3_600_000, mono: 70_000 }]);
    expect(end).toBe('lost');
    expect(renewals).toEqual([20_000]);
  });

  it('a machine asleep (its monotonic clock stopped) is caught by the wall clock', async () => {
    const { end, renewals } = await run([{ wall: 90_000, mono: 0 }]);
    expect(end).toBe('lost');
    expect(renewals).toEqual([]);
  });
});
