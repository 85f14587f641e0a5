import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canUnshare, createWorld, inNamespaces, type World } from './helpers.js';

// A full disk, for real: the state folder is a small tmpfs mounted in a private mount namespace
// (unshare -m), so nothing outside this test sees it. Needs root on Linux (CI runs as root);
// elsewhere the test is skipped, saying why.

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(() => world.close());

/**
 * Runs `script` (sh) in a private mount namespace where `$STATE` is a fresh tmpfs of `size`,
 * prefilled so that about `free` bytes are left; what the script writes to `$OUT` stays.
 */
function onSmallDisk(script: string, env: NodeJS.ProcessEnv, out: string, free: number) {
  const state = env.OXENVCS_HOME as string;
  mkdirSync(state, { recursive: true });
  const setup = `mount -t tmpfs -o size=256k tmpfs "$STATE" && head -c ${256 * 1024 - free} /dev/zero > "$STATE/filler" 2>/dev/null; `;
  return inNamespaces(setup + script, { ...env, STATE: state, OUT: out });
}

describe.skipIf(!canUnshare)(
  'a full disk (state folder on a small tmpfs; skipped unless root on Linux)',
  () => {
    it('every push answered "queued" (75) is in the queue; the first that cannot be stored says the disk is full (exit 1); the queue file stays whole', async () => {
      const dir = await world.project('full-disk');
      await world.server.faults.offline();
      const out = join(world.home('ada'), '..', 'full-disk-out');
      mkdirSync(out, { recursive: true });
      // Pushes of distinct branches (identical pushes would collapse into one entry) until one fails,
      // at most 60; then what the queue says, from the same namespace.
      const script = `cd "${dir}"
for i in $(seq 1 60); do
  "$NODE" "$CLI" push "take-$i" >/dev/null 2>"$OUT/err-$i"; code=$?
  echo "$i $code" >> "$OUT/codes"
  [ "$code" = 75 ] || break
done
"$NODE" "$CLI" queue status --json --all > "$OUT/status.json" 2>"$OUT/status.err"; echo $? > "$OUT/status.code"
ls -a "$STATE" > "$OUT/listing"`;
      const run = await onSmallDisk(script, world.envFor('ada'), out, 28 * 1024);
      expect(run.status, run.stderr).toBe(0);
      const codes = readFileSync(join(out, 'codes'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split(' ').map(Number));
      const last = codes.at(-1)!;
      // The disk filled up before 60 pushes, and the push that met it failed plainly.
      expect(last[1], `codes: ${JSON.stringify(codes)}`).toBe(1);
      const err = readFileSync(join(out, `err-${last[0]}`), 'utf8');
      expect(err).toMatch(/disk is full/);
      // One line for the failure (after the push's "Connecting to …; preparing the push…").
      expect(
        err
          .trim()
          .split('\n')
          .filter((line) => !/^.*Connecting to /.test(line)),
      ).toHaveLength(1);
      const acknowledged = codes.filter(([, code]) => code === 75).map(([i]) => `take-${i}`);
      expect(acknowledged.length).toBeGreaterThan(3);
      // Every acknowledged push is in the queue, which still reads.
      expect(readFileSync(join(out, 'status.code'), 'utf8').trim()).toBe('0');
      const status = JSON.parse(readFileSync(join(out, 'status.json'), 'utf8')) as {
        entries: Array<{ kind: string; status: string; description: string }>;
      };
      expect(status.entries.every((e) => e.kind === 'push' && e.status === 'pending')).toBe(true);
      const branches = status.entries.map((e) => /take-\d+/.exec(e.description)?.[0]);
      expect(branches.sort()).toEqual([...acknowledged].sort());
      // No temp file left behind.
      expect(readFileSync(join(out, 'listing'), 'utf8')).not.toMatch(/\.tmp/);
    });

    it("a lock taken on the remote is not reported as failed because this machine's notes could not be saved", async () => {
      await world.server.faults.online();
      const dir = await world.project('full-disk-acquire');
      const out = join(world.home('ada'), '..', 'full-disk-acquire-out');
      mkdirSync(out, { recursive: true });
      // A first command (this machine's id, its caches), then the disk fills up (audio, say), all
      // but one page: room for the lease's key, written before the claim, and none for the notes
      // written after it.
      const script = `cd "${dir}"
"$NODE" "$CLI" lock status > /dev/null 2>&1
head -c 1048576 /dev/zero > "$STATE/audio.wav" 2>/dev/null; truncate -s -4096 "$STATE/audio.wav"
"$NODE" "$CLI" lock acquire > "$OUT/acquire.out" 2>"$OUT/acquire.err"; echo $? > "$OUT/acquire.code"`;
      const run = await onSmallDisk(script, world.envFor('ada'), out, 128 * 1024);
      expect(run.status, run.stderr).toBe(0);
      const err = readFileSync(join(out, 'acquire.err'), 'utf8');
      expect(
        readFileSync(join(out, 'acquire.code'), 'utf8').trim(),
        err + readFileSync(join(out, 'acquire.out'), 'utf8'),
      ).toBe('0');
      expect(err).toMatch(/Could not save .*: the disk is full; the remote has the change/);
      // The remote agrees: the lock is Ada's (seen by another user, from another state folder).
      const seen = await world.run(['lock', 'status', '--json'], { cwd: dir, user: 'bob' });
      expect(JSON.parse(seen.stdout).lock).toMatchObject({ state: 'held-by-other' });
    });
  },
);
