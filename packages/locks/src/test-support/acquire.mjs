// Child process for the lock race test: one contender. Uses the built packages.
// argv: remoteUrl holder machineId key ttlMs
import { createOxenHub } from '@oxvcs/oxen';
import { createLockManager } from '../../dist/index.js';

const [remoteUrl, holder, machineId, key, ttl] = process.argv.slice(2);
const manager = createLockManager({
  hub: createOxenHub({ remoteUrl, timeoutMs: 10_000 }),
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
