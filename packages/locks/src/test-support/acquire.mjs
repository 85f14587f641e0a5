// Child process for the lock race test: one contender. Uses the built packages.
// argv: remoteUrl holder machineId ttlMs
// Prints {"ready":true} once loaded; then, for each key read from stdin (one a line), acquires it
// with a lock manager of its own (empty caches and key store, as a process started afresh would
// have) and prints one JSON line with the outcome. Ends when stdin closes.
import { createInterface } from 'node:readline';
import { createOxenHub } from '@oxvcs/oxen';
import { createLockManager } from '../../dist/index.js';

const [remoteUrl, holder, machineId, ttl] = process.argv.slice(2);
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
for await (const key of createInterface({ input: process.stdin })) {
  const manager = createLockManager({
    hub: createOxenHub({ remoteUrl, timeoutMs: 60_000 }), // a slow answer here only means a busy machine
    identity: { holder, machineId },
  });
  try {
    const grant = await manager.acquire(key, { ttlMs: Number(ttl) });
    process.stdout.write(
      `${JSON.stringify({ ok: true, holder: grant.holder, fencingToken: grant.fencingToken })}\n`,
    );
  } catch (error) {
    process.stdout.write(
      `${JSON.stringify({ ok: false, code: error.code, holder: error.holder, message: error.message })}\n`,
    );
  }
}
