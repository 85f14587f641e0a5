// What a child process needs to run as another user (`nobody`), wherever this clone lives. The
// clone may sit in a folder only its owner can enter (`/root`, a `mktemp -d` folder): another user
// could neither run its `node` nor read its sources. So the node binary and the package, with the
// packages it imports, are copied into a fresh folder under the system's temp folder that every
// user may read, each at its absolute path below the copy's root, so relative imports and pnpm's
// relative links between packages hold there as they do here.
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';

/** A copy every user can run: {@link copyForAnotherUser}. */
export interface CopyForAnotherUser {
  /** The copied node binary. */
  readonly node: string;
  /** Where a file of this clone (an absolute path) is in the copy. */
  at(path: string): string;
  /** Removes the copy. */
  remove(): void;
}

/** The `node_modules/<name>` entry Node resolves `name` to from inside package folder `dir`. */
const dependencyOf = (dir: string, name: string): string => {
  for (let at = dir; ; at = dirname(at)) {
    const entry = join(at, 'node_modules', name);
    if (existsSync(entry)) return entry;
    if (dirname(at) === at) throw new Error(`${name} is not installed for ${dir}`);
  }
};

/** Makes everything below `path` readable (and folders enterable) by every user. */
const openToAll = (path: string) => {
  const stat = lstatSync(path);
  if (stat.isSymbolicLink()) return;
  if (stat.isDirectory()) {
    chmodSync(path, 0o755);
    for (const entry of readdirSync(path)) openToAll(join(path, entry));
  } else {
    chmodSync(path, stat.mode | 0o444 | (stat.mode & 0o100 ? 0o111 : 0));
  }
};

/**
 * Copies the node running this process and the package in `packageDir` with its dependencies
 * (`dependencies` of each package.json, followed through symlinks; their own `node_modules` are
 * not copied wholesale), and any single `files` (absolute paths), into a new world-readable folder
 * under the temp folder.
 */
export function copyForAnotherUser(packageDir: string, files: readonly string[] = []): CopyForAnotherUser {
  const root = mkdtempSync(join(tmpdir(), 'oxvcs-another-user-'));
  const at = (path: string) => join(root, path);
  const copied = new Set<string>();
  const copyPackage = (dir: string) => {
    if (copied.has(dir)) return;
    copied.add(dir);
    cpSync(dir, at(dir), {
      recursive: true,
      verbatimSymlinks: true,
      filter: (source) => !relative(dir, source).split(sep).includes('node_modules'),
    });
    const { dependencies = {} } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    for (const name of Object.keys(dependencies)) {
      const entry = dependencyOf(dir, name);
      const real = realpathSync(entry);
      if (real !== entry && !existsSync(at(entry))) {
        mkdirSync(dirname(at(entry)), { recursive: true });
        symlinkSync(relative(dirname(entry), real), at(entry));
      }
      copyPackage(real);
    }
  };
  copyPackage(realpathSync(packageDir));
  // Single files the child also needs (the source hooks at the repository's root).
  for (const file of files) {
    mkdirSync(dirname(at(file)), { recursive: true });
    copyFileSync(file, at(file));
  }
  const node = join(root, 'bin', 'node');
  mkdirSync(dirname(node), { recursive: true });
  copyFileSync(realpathSync(process.execPath), node);
  openToAll(root);
  return { node, at, remove: () => rmSync(root, { recursive: true, force: true }) };
}
