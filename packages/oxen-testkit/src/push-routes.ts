import { gunzipSync } from 'node:zlib';
import { badRequest, ok, type Reply, simpleError, statusMessage } from './envelope.js';
import { type CommitRecord, hashObject, type RepoData } from './model.js';

/**
 * The routes `oxen push` 0.54 sends a change through, as the fake serves them
 * (`crates/liboxen/src/core/v_latest/push.rs`, `api/client/versions.rs`,
 * `oxen-server/src/controllers/commits.rs`, tag v0.54.0). Kept apart from the server's other
 * routes so the push path is one file.
 *
 * Bodies are the fake's own where Oxen sends tarballs: a commit's node is gzip-compressed JSON
 * (`{commit}`), its dir-hashes a gzip-compressed JSON `{commit_id}`; a small-file batch is a
 * multipart form of gzip-compressed files named by their hash. What matters is the order, the
 * sizes on the wire and what the server keeps when a push is cut.
 */

/** Repository state the push routes add (kept with the repository, so it persists with `dataDir`). */
export interface PushState {
  /** Commits whose node arrived but whose dir-hashes did not yet: not "present". */
  awaitingDirHashes?: Record<string, true>;
}

/** What the push routes need from the server that mounts them. */
export interface PushRouteHost<Repo extends RepoData & PushState, Ctx> {
  route(method: string, template: string, handler: (ctx: Ctx) => Reply | Promise<Reply>): void;
  withRepo(
    handler: (repo: Repo, ctx: Ctx, rest: string[]) => Reply | Promise<Reply>,
  ): (ctx: Ctx) => Reply | Promise<Reply>;
  persist(): void;
}

interface PushCtx {
  readonly body: Buffer;
  readonly query: URLSearchParams;
  readonly headers: Record<string, string | string[] | undefined>;
}

const gunzipJson = (body: Buffer): Record<string, unknown> | undefined => {
  try {
    const parsed = JSON.parse(gunzipSync(body).toString('utf8')) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};

/**
 * True when `commitId` is on the server as `POST …/commits/missing` judges it
 * (`controllers/commits.rs:224-265`): its node is stored AND its dir-hashes arrived (sent last).
 */
export function commitPresent(repo: RepoData & PushState, commitId: string): boolean {
  return commitId in repo.commits && !repo.awaitingDirHashes?.[commitId];
}

/** Mounts the push routes on `host`. Chunks of large files wait in memory until `…/complete`. */
export function registerPushRoutes<
  Repo extends RepoData & PushState & { namespace: string; name: string },
  Ctx extends PushCtx,
>(host: PushRouteHost<Repo, Ctx>, R: string): void {
  const { route, withRepo, persist } = host;
  /** `ns/repo/hash` → offset → bytes: chunks received, not yet completed. */
  const chunks = new Map<string, Map<number, Buffer>>();
  const chunkKey = (repo: Repo, hash: string) => `${repo.namespace}/${repo.name}/${hash}`;

  // `list_missing`: malformed JSON is a 400 `StatusMessage::error("Invalid JSON")`; unknown ids and
  // commits whose push stopped before its dir-hashes are listed as missing.
  route(
    'POST',
    `${R}/commits/missing`,
    withRepo((repo, ctx) => {
      let hashes: unknown;
      try {
        hashes = (JSON.parse(ctx.body.toString('utf8')) as { hashes?: unknown }).hashes;
      } catch {
        hashes = undefined;
      }
      if (!Array.isArray(hashes) || hashes.some((h) => typeof h !== 'string'))
        return statusMessage(400, 'Invalid JSON');
      const missing = [...new Set(hashes as string[])].filter((id) => !commitPresent(repo, id));
      return ok('resource_found', { hashes: missing });
    }),
  );

  // `versions.rs:523-585` `multipart_batch_upload`: each file a gzip-compressed part named by its
  // hash. A file already stored is dropped only after it was received (it still costs its bytes).
  route(
    'POST',
    `${R}/versions`,
    withRepo(async (repo, ctx) => {
      let form: FormData;
      try {
        form = await new Request('http://fake/', {
          method: 'POST',
          headers: { 'content-type': String(ctx.headers['content-type'] ?? '') },
          body: new Uint8Array(ctx.body),
        }).formData();
      } catch {
        return badRequest('Invalid multipart body');
      }
      const errFiles: Array<{ hash: string; error: string }> = [];
      for (const part of form.getAll('file[]')) {
        if (typeof part === 'string') continue;
        const hash = part.name;
        let bytes: Buffer;
        try {
          bytes = gunzipSync(Buffer.from(await part.arrayBuffer()));
        } catch {
          errFiles.push({ hash, error: 'could not decompress' });
          continue;
        }
        if (hashObject(bytes) !== hash) {
          errFiles.push({ hash, error: 'hash mismatch' });
          continue;
        }
        repo.objects[hash] ??= bytes.toString('base64');
      }
      persist();
      return ok('resource_created', { err_files: errFiles });
    }),
  );
  route(
    'POST',
    `${R}/versions/:hash/create`,
    withRepo(() => ok('resource_created')),
  );
  route(
    'PUT',
    `${R}/versions/:hash/chunks`,
    withRepo((repo, ctx, [hash]) => {
      const offset = Number(ctx.query.get('offset'));
      if (!Number.isSafeInteger(offset) || offset < 0) return badRequest('Invalid offset');
      const key = chunkKey(repo, hash!);
      const held = chunks.get(key) ?? new Map<number, Buffer>();
      held.set(offset, ctx.body);
      chunks.set(key, held);
      return ok('resource_created');
    }),
  );
  route(
    'POST',
    `${R}/versions/:hash/complete`,
    withRepo((repo, _ctx, [hash]) => {
      const key = chunkKey(repo, hash!);
      const held = chunks.get(key);
      chunks.delete(key);
      if (!held && hash! in repo.objects) return ok('resource_created');
      const ordered = [...(held ?? new Map<number, Buffer>()).entries()].sort(([a], [b]) => a - b);
      const whole = Buffer.concat(ordered.map(([, b]) => b));
      if (hashObject(whole) !== hash)
        return simpleError(400, 'bad_request', `Uploaded chunks of ${hash} do not make the file`);
      repo.objects[hash!] ??= whole.toString('base64');
      persist();
      return ok('resource_created');
    }),
  );
  // `api/client/tree.rs` `create_nodes`: the commit's node (and its tree) arrive; not yet present.
  route(
    'POST',
    `${R}/tree/nodes`,
    withRepo((repo, ctx) => {
      const commit = gunzipJson(ctx.body)?.commit as CommitRecord | undefined;
      if (!commit || typeof commit.id !== 'string') return badRequest('Invalid node archive');
      if (!commitPresent(repo, commit.id)) {
        repo.commits[commit.id] = commit;
        repo.awaitingDirHashes = { ...repo.awaitingDirHashes, [commit.id]: true };
      }
      persist();
      return ok('resource_created');
    }),
  );
  // `post_commits_dir_hashes_to_server` (the last data step of a commit): from now on present.
  route(
    'POST',
    `${R}/commits/upload`,
    withRepo((repo, ctx) => {
      const id = gunzipJson(ctx.body)?.commit_id;
      if (typeof id !== 'string' || !(id in repo.commits)) return badRequest('Invalid dir-hashes archive');
      if (repo.awaitingDirHashes) delete repo.awaitingDirHashes[id];
      persist();
      return ok('resource_created');
    }),
  );
}
