// Child process for the chaos test: one user doing random lock operations through a hostile
// network. Uses the built packages. argv: remoteUrl holder machineId seed ops clockMode
// clockMode: "ahead" (Date header 2 h ahead), "strip" (no Date header) or "plain".
// Prints one JSON line per reported grant: {key, holder, fencingToken, ticket, expiresAt}.
import { createOxenHub } from '@oxvcs/oxen';
import { seededRandom } from '@oxvcs/oxen-testkit';
import { createLockManager } from '../../dist/index.js';

const [remoteUrl, holder, machineId, seedText, opsText, clockMode] = process.argv.slice(2);
const random = seededRandom(Number(seedText));
const pick = (list) => list[Math.floor(random() * list.length)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Delays a quarter of ticket claims, loses the answer of a tenth (after the server applied it), and skews or strips the Date header. */
const hostile = async (input, init) => {
  const request = new Request(input, init);
  const body = request.method === 'POST' ? await request.clone().text() : '';
  const claim = body.includes('oxvcs-locks/');
  if (claim && random() < 0.25) await sleep(Math.floor(random() * 400));
  const response = await fetch(request);
  if (claim && random() < 0.1) {
    await response.arrayBuffer();
    throw new TypeError('fetch failed (answer lost by the chaos proxy)');
  }
  const headers = new Headers(response.headers);
  if (clockMode === 'strip') headers.delete('date');
  if (clockMode === 'ahead') {
    headers.set('date', new Date(Date.parse(headers.get('date') ?? '') + 2 * 3_600_000).toUTCString());
  }
  return new Response(await response.arrayBuffer(), { status: response.status, headers });
};

const manager = createLockManager({
  hub: createOxenHub({ remoteUrl, timeoutMs: 10_000, fetch: hostile }),
  identity: { holder, machineId },
});
const keys = [undefined, 'a', 'a/x', 'b', 'b/y'];
for (let i = 0; i < Number(opsText); i++) {
  const key = pick(keys);
  const kind = pick(['acquire', 'acquire', 'acquire', 'renew', 'release', 'release', 'status', 'break']);
  const ttlMs = 1500 + Math.floor(random() * 3000);
  try {
    if (kind === 'acquire' || kind === 'renew') {
      const grant = await (kind === 'acquire'
        ? manager.acquire(key, { ttlMs })
        : manager.renew(key, { ttlMs }));
      process.stdout.write(
        `${JSON.stringify({ key: grant.key, holder: grant.holder, fencingToken: grant.fencingToken, ticket: grant.ticket, expiresAt: grant.expiresAt })}\n`,
      );
    } else if (kind === 'release') await manager.release(key);
    else if (kind === 'break' && random() < 0.3) await manager.break(key, { force: true, reason: 'chaos' });
    else await manager.status(key);
  } catch (error) {
    if (process.env.CHAOS_DEBUG) process.stderr.write(`${kind} ${key} ${error?.code}\n`);
    if (!error || typeof error.code !== 'string') {
      process.stderr.write(`${holder}: unexpected ${error?.stack ?? error}\n`);
      process.exitCode = 1;
    }
  }
  await sleep(Math.floor(random() * 120));
}
