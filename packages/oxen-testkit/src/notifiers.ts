import { chmodSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** Fake desktop notifiers on a PATH: each call's arguments are recorded, one file per call. */
export interface FakeNotifiers {
  /** The folder holding the fake `osascript` and `notify-send` (remove it when done). */
  readonly dir: string;
  /** `dir` in front of this process's PATH. */
  readonly path: string;
  /** The arguments of every call of `name` so far, in the order they came. */
  calls(name: 'osascript' | 'notify-send'): string[][];
}

/**
 * Writes fake `osascript` and `notify-send` programs (POSIX shell) into a new temporary folder.
 * Each records its arguments, NUL-separated, in `<name>.<pid>.<n>.call` next to itself, so a test
 * reads exactly what the notifier was given, as the real one would be.
 */
export function fakeNotifiers(): FakeNotifiers {
  const dir = mkdtempSync(join(tmpdir(), 'oxvcs-notifiers-'));
  for (const name of ['osascript', 'notify-send']) {
    const file = join(dir, name);
    writeFileSync(
      file,
      `#!/bin/sh\nout="${dir}/${name}.$(date +%s%N).$$.call"\nfor a in "$@"; do printf '%s\\0' "$a"; done > "$out.tmp" && mv "$out.tmp" "$out"\n`,
    );
    chmodSync(file, 0o755);
  }
  return {
    dir,
    path: `${dir}${delimiter}${process.env.PATH ?? ''}`,
    calls(name) {
      return readdirSync(dir)
        .filter((f) => f.startsWith(`${name}.`) && f.endsWith('.call'))
        .sort()
        .map((f) => readFileSync(join(dir, f), 'utf8').split('\0').slice(0, -1));
    },
  };
}
