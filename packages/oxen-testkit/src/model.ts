import { createHash, randomBytes } from 'node:crypto';

/** Oxen's version this fake imitates (the reference's release line). */
export const OXEN_VERSION = '0.54.0';
/** `GET /api/min_version` answer. */
export const MIN_CLI_VERSION = '0.36.0';

/** A commit as the fake stores it: Oxen's commit fields plus the file tree (path → object hash). */
export interface CommitRecord {
  readonly id: string;
  readonly parent_ids: readonly string[];
  readonly message: string;
  readonly author: string;
  readonly email: string;
  /** RFC 3339, the clock of whoever made the commit (the server for server-side commits). */
  readonly timestamp: string;
  readonly tree: Readonly<Record<string, string>>;
}

/** The commits, branches and objects of one repository (server side or a local `.oxen`). */
export interface RepoData {
  commits: Record<string, CommitRecord>;
  branches: Record<string, string>;
  objects: Record<string, string>;
}

/** Hash of file contents, used as the object id. */
export function hashObject(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex').slice(0, 32);
}

/** A new commit id (32 hex characters, like Oxen's). */
export function newCommitId(parts: readonly string[]): string {
  return createHash('sha256')
    .update([...parts, randomBytes(8).toString('hex')].join('\0'))
    .digest('hex')
    .slice(0, 32);
}

/** Makes a commit on top of `parents` with `tree`. */
export function makeCommit(
  parents: readonly string[],
  tree: Record<string, string>,
  meta: { message: string; author: string; email: string; timestamp: string },
): CommitRecord {
  const id = newCommitId([...parents, meta.message, meta.timestamp, JSON.stringify(tree)]);
  return { id, parent_ids: [...parents], ...meta, tree };
}

/** True when `ancestor` is `descendant` or one of its ancestors. */
export function isAncestor(
  commits: Record<string, CommitRecord>,
  ancestor: string,
  descendant: string,
): boolean {
  const stack = [descendant];
  const seen = new Set<string>();
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (id === ancestor) return true;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...(commits[id]?.parent_ids ?? []));
  }
  return false;
}

/** Every commit reachable from `head`, newest first by walk order. */
export function history(commits: Record<string, CommitRecord>, head: string): CommitRecord[] {
  const out: CommitRecord[] = [];
  const stack = [head];
  const seen = new Set<string>();
  while (stack.length > 0) {
    const id = stack.shift()!;
    if (seen.has(id)) continue;
    seen.add(id);
    const commit = commits[id];
    if (!commit) continue;
    out.push(commit);
    stack.push(...commit.parent_ids);
  }
  return out.sort((a, b) => (a.timestamp < b.timestamp ? 1 : a.timestamp > b.timestamp ? -1 : 0));
}

/** Characters and shapes Oxen forbids in branch names. */
export function invalidBranchName(name: string): boolean {
  return (
    name === '' ||
    name === '@' ||
    name.endsWith('.') ||
    name.endsWith('/') ||
    name.startsWith('/') ||
    /\.\.|[~^:?[*\\\s]|@\{/.test(name)
  );
}

/** True when dotted version `version` is at least `minimum` (numeric parts; a pre-release suffix is ignored). */
export function versionAtLeast(version: string, minimum: string): boolean {
  const parts = (v: string) =>
    v
      .split(/[-+]/)[0]!
      .split('.')
      .map((p) => Number.parseInt(p, 10) || 0);
  const a = parts(version);
  const b = parts(minimum);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}
