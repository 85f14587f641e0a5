import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { identify } from '@oxvcs/durable';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createGuard,
  type FileMode,
  guardFile,
  planReadOnly,
  planWritable,
  withRecordLock,
} from './guard.js';
import { writeState } from './state.js';

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});
const temp = (name: string) => {
  const d = mkdtempSync(join(tmpdir(), `oxvcs-guard-${name}-`));
  dirs.push(d);
  return d;
};
const modeOf = (file: string) => lstatSync(file).mode & 0o7777;
const put = (file: string, mode: number) => {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, 'x');
  chmodSync(file, mode);
};

/** Applies planned changes to an in-memory file system (path → mode). */
const applied = (fs: Map<string, number>, changes: readonly { path: string; to: number }[]) => {
  for (const c of changes) fs.set(c.path, c.to);
};

describe('read-only guard planning (pure)', () => {
  const mode = fc.integer({ min: 0, max: 0o777 });
  const files = fc.uniqueArray(fc.record({ path: fc.string({ minLength: 1, maxLength: 4 }), mode }), {
    selector: (f) => f.path,
    maxLength: 20,
  });

  it('read-only then writable gives every file its mode back exactly; a file read-only before is never given a write bit', () => {
    fc.assert(
      fc.property(files, (list: FileMode[]) => {
        const disk = new Map(list.map((f) => [f.path, f.mode]));
        const { changes, record } = planReadOnly(list, {});
        applied(disk, changes);
        for (const m of disk.values()) expect(m & 0o222).toBe(0);
        applied(disk, planWritable(disk, record));
        expect(Object.fromEntries(disk)).toEqual(Object.fromEntries(list.map((f) => [f.path, f.mode])));
      }),
    );
  });

  it('guarding twice (new files between, some changed by hand) still restores only what the guard took, as it found it', () => {
    fc.assert(
      fc.property(files, files, fc.array(fc.nat(), { maxLength: 5 }), (first, later, touched) => {
        const disk = new Map(first.map((f) => [f.path, f.mode]));
        const one = planReadOnly(first, {});
        applied(disk, one.changes);
        // Files made meanwhile (not yet guarded), and some the user chmods by hand while guarded.
        for (const f of later) if (!disk.has(f.path)) disk.set(f.path, f.mode);
        const byHand = new Map<string, number>();
        for (const i of touched) {
          const path = [...disk.keys()][i % Math.max(1, disk.size)];
          if (path !== undefined) {
            byHand.set(path, 0o600);
            disk.set(path, 0o600);
          }
        }
        const expected = new Map(disk);
        for (const [p, m] of Object.entries(one.record)) if (!byHand.has(p)) expected.set(p, m);
        const two = planReadOnly(
          [...disk].map(([path, m]) => ({ path, mode: m })),
          one.record,
        );
        applied(disk, two.changes);
        for (const m of disk.values()) expect(m & 0o222).toBe(0);
        applied(disk, planWritable(disk, two.record));
        expect(Object.fromEntries(disk)).toEqual(Object.fromEntries(expected));
      }),
    );
  });
});

describe('read-only guard on a real folder', () => {
  it('never enters .oxen/ (anywhere), .oxenvcs/ at the root, the state folder, or a linked folder; never changes a link’s target', () => {
    const root = temp('root');
    const out = temp('outside');
    const state = join(root, 'state');
    put(join(root, 'song', 'ProjectData'), 0o644);
    put(join(root, '.oxen', 'HEAD'), 0o644);
    put(join(root, 'song', '.oxen', 'x'), 0o644);
    put(join(root, '.oxenvcs', 'config.toml'), 0o644);
    put(join(state, 'queue.json'), 0o644);
    put(join(out, 'target.wav'), 0o644);
    symlinkSync(out, join(root, 'song', 'linked-folder'));
    symlinkSync(join(out, 'target.wav'), join(root, 'song', 'linked.wav'));
    const guard = createGuard({ dir: root, root, stateDir: state });
    const report = guard.lock('not-held');
    expect(report).toMatchObject({ made: 'read-only', changed: 1, readOnly: 1, failed: [] });
    expect(modeOf(join(root, 'song', 'ProjectData'))).toBe(0o444);
    for (const f of ['.oxen/HEAD', 'song/.oxen/x', '.oxenvcs/config.toml', 'state/queue.json'])
      expect(modeOf(join(root, f))).toBe(0o644);
    expect(modeOf(join(out, 'target.wav'))).toBe(0o644);
    expect(guard.unlock('acquired')).toMatchObject({ made: 'writable', changed: 1, readOnly: 0 });
    expect(modeOf(join(root, 'song', 'ProjectData'))).toBe(0o644);
  });

  it('an interrupted run (record written, half the files changed) is finished by the next one, and every mode comes back', () => {
    const root = temp('crash');
    const state = temp('state');
    const modes = { a: 0o644, b: 0o755, c: 0o664, d: 0o600 };
    for (const [name, m] of Object.entries(modes)) put(join(root, name), m);
    // As if a run recorded every mode, changed a and b, and stopped.
    writeState(guardFile(state, root), { dir: root, modes });
    chmodSync(join(root, 'a'), 0o444);
    chmodSync(join(root, 'b'), 0o555);
    const guard = createGuard({ dir: root, root, stateDir: state });
    expect(guard.lock('not-held')).toMatchObject({ changed: 2, readOnly: 4, failed: [] });
    for (const name of Object.keys(modes)) expect(modeOf(join(root, name)) & 0o222).toBe(0);
    guard.unlock('acquired');
    for (const [name, m] of Object.entries(modes)) expect(modeOf(join(root, name))).toBe(m);
  });

  it('a file changed by hand while guarded keeps the user’s mode; one saved anew (replaced) is guarded afresh', () => {
    const root = temp('hand');
    const state = temp('state');
    put(join(root, 'by-hand'), 0o644);
    put(join(root, 'saved'), 0o644);
    const guard = createGuard({ dir: root, root, stateDir: state });
    guard.lock('released');
    chmodSync(join(root, 'by-hand'), 0o600);
    rmSync(join(root, 'saved'));
    put(join(root, 'saved'), 0o640);
    expect(guard.lock('not-held')).toMatchObject({ changed: 2, readOnly: 2 });
    expect(modeOf(join(root, 'saved'))).toBe(0o440);
    guard.unlock('acquired');
    expect(modeOf(join(root, 'by-hand'))).toBe(0o600);
    expect(modeOf(join(root, 'saved'))).toBe(0o640);
  });
});

describe('the guard record lock', () => {
  it('a lock left by a process that is gone is taken over at once; the lock is gone after the work', () => {
    const state = temp('lock');
    const record = join(state, 'guard', 'x.json');
    mkdirSync(join(state, 'guard'), { recursive: true });
    // A pid no process has (above the kernel's maximum), on this host.
    writeFileSync(`${record}.lock`, JSON.stringify({ ...identify(), pid: 2 ** 22 + 1, start: '0' }));
    expect(withRecordLock(record, () => 42)).toBe(42);
    expect(existsSync(`${record}.lock`)).toBe(false);
    expect(readdirSync(join(state, 'guard'))).toEqual([]);
  });

  it('processes guarding one folder at the same moment keep every mode (the record is never overwritten by a stale copy)', async () => {
    const root = temp('race');
    const state = temp('race-state');
    const modes: Record<string, number> = {};
    for (let i = 0; i < 1500; i++) {
      modes[`f${i}`] = i % 3 === 0 ? 0o755 : i % 3 === 1 ? 0o644 : 0o400;
      put(join(root, `f${i}`), modes[`f${i}`]!);
    }
    // The built engine (the root `pnpm test` builds first), as the CLI and the TUI run it.
    const guardJs = new URL('../dist/guard.js', import.meta.url).pathname;
    const go = join(state, 'go');
    // Each child says it is ready, waits for the go file, then guards the folder (as a TUI poll and
    // a command would, side by side): they start their passes together, so the passes overlap.
    const child = (n: number) => {
      const ready = join(state, `ready-${n}`);
      const script = [
        `import { existsSync, writeFileSync } from 'node:fs';`,
        `const { createGuard } = await import(${JSON.stringify(guardJs)});`,
        `const guard = createGuard({ dir: ${JSON.stringify(root)}, root: ${JSON.stringify(root)}, stateDir: ${JSON.stringify(state)} });`,
        `writeFileSync(${JSON.stringify(ready)}, '');`,
        `while (!existsSync(${JSON.stringify(go)})) await new Promise((r) => setTimeout(r, 1));`,
        `guard.lock('not-held');`,
      ].join('\n');
      const p = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'inherit' });
      return {
        ready,
        exited: new Promise<number | null>((done) => p.on('exit', done)),
      };
    };
    for (let round = 0; round < 2; round++) {
      rmSync(go, { force: true });
      const children = [0, 1, 2].map(child);
      await vi.waitFor(() => expect(children.every((c) => existsSync(c.ready))).toBe(true), {
        interval: 20,
      });
      writeFileSync(go, '');
      expect(await Promise.all(children.map((c) => c.exited))).toEqual([0, 0, 0]);
      for (const c of children) rmSync(c.ready);
      createGuard({ dir: root, root, stateDir: state }).unlock('acquired');
      for (const [name, m] of Object.entries(modes)) expect(modeOf(join(root, name))).toBe(m);
    }
  });
});
