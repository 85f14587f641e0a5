import { execFileSync, spawnSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StateFileError } from './errors.js';
import { canUnshare, inNamespaces } from './test-support/namespace.js';
import { readText, readVersion, replaceFile } from './whole-file.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'durable-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const thrown = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
};

describe('replaceFile', () => {
  it('replaces a file whole, leaves no temp file, and gives secrets mode 0600', () => {
    const file = join(dir, 'key');
    replaceFile(file, 'one');
    replaceFile(file, 'two', { mode: 0o600 });
    expect(readFileSync(file, 'utf8')).toBe('two');
    expect(readdirSync(dir)).toEqual(['key']);
    const fresh = join(dir, 'secret');
    replaceFile(fresh, 'x', { mode: 0o600 });
    expect(statSync(fresh).mode & 0o777).toBe(0o600);
  });

  it('a check that fails before the rename leaves the old version and no temp file', () => {
    const file = join(dir, 'queue.json');
    replaceFile(file, 'old');
    expect(() =>
      replaceFile(file, 'new', {
        beforeRename: () => {
          throw new Error('lock lost');
        },
      }),
    ).toThrow('lock lost');
    expect(readFileSync(file, 'utf8')).toBe('old');
    expect(readdirSync(dir)).toEqual(['queue.json']);
  });

  it('a symbolic link or a folder at the path is refused, and what the link points to is untouched', () => {
    const target = join(dir, 'elsewhere.json');
    writeFileSync(target, 'entries');
    const link = join(dir, 'queue.json');
    symlinkSync(target, link);
    const error = thrown(() => replaceFile(link, 'new')) as StateFileError;
    expect(error).toBeInstanceOf(StateFileError);
    expect(error).toMatchObject({ code: 'NOT_A_FILE', kind: 'symlink', file: link });
    expect(readFileSync(target, 'utf8')).toBe('entries');
    mkdirSync(join(dir, 'grants.json'));
    expect(thrown(() => replaceFile(join(dir, 'grants.json'), '{}'))).toMatchObject({ kind: 'directory' });
  });

  it.skipIf(!canUnshare)(
    'on a full disk (a 64 KiB tmpfs; needs root on Linux): ENOSPC, the previous version intact, no temp file',
    () => {
      const script = fileURLToPath(new URL('./test-support/full-disk.mjs', import.meta.url));
      const run = inNamespaces('mount -t tmpfs -o size=64k tmpfs /mnt', script, ['/mnt']);
      expect(run.status, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual({
        error: 'ENOSPC',
        intact: true,
        files: ['audio.wav', 'queue.json'],
      });
    },
  );
});

describe('readVersion', () => {
  it('a missing file reads as absent; a regular file with its bytes', () => {
    expect(readVersion(join(dir, 'none'))).toEqual({ identity: 'absent', bytes: undefined });
    expect(readText(join(dir, 'none'))).toBeUndefined();
    writeFileSync(join(dir, 'f'), 'hello');
    expect(readText(join(dir, 'f'))).toBe('hello');
  });

  it.skipIf(process.platform === 'win32')(
    'a FIFO is refused at once instead of blocking for a writer',
    () => {
      const fifo = join(dir, 'queue.json');
      execFileSync('mkfifo', [fifo]);
      // In a child, so that a read that blocked would fail the test by its bound, not hang the worker.
      const script = `import('${fileURLToPath(new URL('./whole-file.ts', import.meta.url))}').then(({ readVersion }) => { try { readVersion(process.argv[1]); } catch (e) { console.log(e.code, e.kind); } })`;
      const run = spawnSync(
        process.execPath,
        [
          '--import',
          fileURLToPath(new URL('../../../source-hooks.mjs', import.meta.url)),
          '-e',
          script,
          fifo,
        ],
        {
          encoding: 'utf8',
          timeout: 60_000,
        },
      );
      expect(run.stdout.trim()).toBe('NOT_A_FILE fifo');
    },
  );

  it('a symbolic link is refused (never followed)', () => {
    writeFileSync(join(dir, 'target'), 'x');
    symlinkSync(join(dir, 'target'), join(dir, 'link'));
    expect(thrown(() => readVersion(join(dir, 'link')))).toMatchObject({
      code: 'NOT_A_FILE',
      kind: 'symlink',
    });
  });
});
