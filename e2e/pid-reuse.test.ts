import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canUnshare, createWorld, inNamespaces, type World } from './helpers.js';

// Process ids reused for real: each scenario runs in a private pid namespace, where, once a process
// of ours is killed, the kernel is told to hand its pid to the next process started
// (/proc/sys/kernel/ns_last_pid), a `sleep` standing for an unrelated program (on a Mac it could be
// Logic Pro). Needs root on Linux (CI runs as root); elsewhere skipped, saying why.

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(() => world.close());

/** sh: kills `$1` (and waits until it is reaped), then starts `sleep` under the same pid as `$impostor`. */
const REUSE = `reuse() {
  kill -9 "$1"; while kill -0 "$1" 2>/dev/null; do sleep 0.05; done
  echo $(($1 - 1)) > /proc/sys/kernel/ns_last_pid; sleep 1000 & impostor=$!
  [ "$impostor" = "$1" ] || { echo "pid $1 not reused (got $impostor)" >&2; exit 9; }
}
note() { "$NODE" -p "JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8')).$2" "$1"; }`;

const read = (dir: string, name: string) => readFileSync(join(dir, name), 'utf8').trim();

describe.skipIf(!canUnshare)(
  'a reused process id (real pid reuse in a pid namespace; skipped unless root on Linux)',
  () => {
    it('a dead keep-alive whose pid is reused: status shows none, acquire --keep-alive starts one, release never signals the other process', async () => {
      const dir = await world.project('pid-keepalive');
      const out = join(world.home('ada'), '..', 'pid-keepalive-out');
      mkdirSync(out, { recursive: true });
      const script = `${REUSE}
cd "${dir}"
"$NODE" "$CLI" lock acquire --timeout 1 --keep-alive > "$OUT/acquire" 2>&1 || exit 3
hb=$(ls "$OXENVCS_HOME"/heartbeats/*.json)
reuse "$(note "$hb" pid)"
"$NODE" "$CLI" lock status --json > "$OUT/status.json"
"$NODE" "$CLI" lock acquire --timeout 1 --keep-alive > "$OUT/again" 2>&1
"$NODE" "$CLI" lock release > "$OUT/release" 2>&1; echo $? > "$OUT/release.code"
kill -0 "$impostor" && echo alive > "$OUT/impostor"
"$NODE" "$CLI" lock heartbeat --stop > /dev/null 2>&1
exit 0`;
      const run = await inNamespaces(script, { ...world.envFor('ada'), OUT: out });
      expect(run.status, run.stderr).toBe(0);
      expect(JSON.parse(read(out, 'status.json')).heartbeat).toBeNull();
      expect(read(out, 'again')).toMatch(/Keep-alive started/);
      expect(read(out, 'release.code')).toBe('0');
      expect(read(out, 'impostor')).toBe('alive');
    });

    it('a sync killed mid-push whose pid is reused: the next sync recovers the entry and pushes it once; the other process lives', async () => {
      const dir = await world.project('pid-sync');
      writeFileSync(join(dir, 'Take.wav'), 'take 1');
      await world.env.oxen(['add', 'Take.wav'], dir);
      await world.env.oxen(['commit', '-m', 'take 1'], dir);
      await world.server.faults.offline();
      expect((await world.run(['push'], { cwd: dir })).code).toBe(75);
      await world.server.faults.online();
      const out = join(world.home('ada'), '..', 'pid-sync-out');
      mkdirSync(out, { recursive: true });
      const pause = join(out, 'pause');
      // The first sync stops inside oxen push (before its upload) and is killed there with its oxen;
      // its pid goes to another process; the next sync runs as the user would.
      const script = `${REUSE}
cd "${dir}"
OXEN_FAKE_PAUSE_AT=push-upload OXEN_FAKE_PAUSE_FILE="${pause}" setsid "$NODE" "$CLI" queue sync > /dev/null 2>&1 &
sync=$!
while [ ! -f "${pause}.waiting" ]; do sleep 0.05; done
kill -9 "$(note "${pause}.waiting" pid)"
reuse "$sync"
"$NODE" "$CLI" queue status > "$OUT/status.txt"
"$NODE" "$CLI" queue sync --json > "$OUT/sync.json"; echo $? > "$OUT/sync.code"
kill -0 "$impostor" && echo alive > "$OUT/impostor"
exit 0`;
      const run = await inNamespaces(script, { ...world.envFor('ada'), OUT: out });
      expect(run.status, run.stderr).toBe(0);
      // Seen as interrupted (its process is gone), not as running under someone else's pid.
      expect(read(out, 'status.txt')).toMatch(/interrupted: the next sync checks the remote/);
      expect(read(out, 'sync.code')).toBe('0');
      expect(JSON.parse(read(out, 'sync.json')).summary).toMatchObject({ done: 1, failed: 0, remaining: 0 });
      expect(read(out, 'impostor')).toBe('alive');
      // The take reached the remote, and main moved once.
      const moves = world.server.requests.filter(
        (r) => r.method === 'PUT' && r.path.endsWith('/e2e/pid-sync/branches/main') && r.status === 200,
      );
      expect(moves).toHaveLength(1);
    });
  },
);
