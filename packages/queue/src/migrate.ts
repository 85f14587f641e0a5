import { QueueError } from './errors.js';
import { type Operation, priorityOf, type QueueEntry, type QueueFile } from './types.js';

/** Current schema version of the queue file. */
export const SCHEMA_VERSION = 2;

/** Version 1: the original tool's entry shape (snake_case, `completed` flag, PascalCase operations). */
interface V1Entry {
  id: string;
  operation: Record<string, Record<string, unknown>>;
  queued_at: string;
  attempts: number;
  priority: number;
  completed: boolean;
}

const V1_KINDS: Record<string, Operation['kind']> = {
  AcquireLock: 'acquire-lock',
  ReleaseLock: 'release-lock',
  RenewLock: 'renew-lock',
  PushCommits: 'push',
  PullCommits: 'pull',
  SyncComments: 'sync-comments',
};

function fromV1(entry: V1Entry): QueueEntry {
  const [name, fields = {}] = Object.entries(entry.operation)[0] ?? ['SyncComments', {}];
  const kind = V1_KINDS[name] ?? 'sync-comments';
  const projectDir = String(fields.project_path ?? fields.repo_path ?? '');
  const base = { projectDir, remote: String(fields.remote ?? '') };
  const hours = Number(fields.timeout_hours ?? fields.additional_hours ?? 4);
  const operation: Operation =
    kind === 'acquire-lock'
      ? { ...base, kind, key: '.', ttlMs: hours * 3_600_000, holder: String(fields.user_id ?? '') }
      : kind === 'release-lock'
        ? { ...base, kind, key: '.', holder: '' }
        : kind === 'renew-lock'
          ? { ...base, kind, key: '.', holder: '', ttlMs: hours * 3_600_000 }
          : kind === 'push' || kind === 'pull'
            ? { ...base, kind, branch: String(fields.branch ?? 'main') }
            : { ...base, kind: 'sync-comments' };
  return {
    id: entry.id.replace(/-/g, '').toUpperCase().padEnd(26, '0').slice(0, 26),
    idempotencyKey: `v1:${entry.id}`,
    operation,
    priority: priorityOf(kind),
    enqueuedAt: new Date(entry.queued_at).toISOString(),
    attempts: entry.attempts ?? 0,
    maxAttempts: 10,
    status: entry.completed ? 'done' : 'pending',
    history: [],
  };
}

/**
 * Upgrades any older queue file shape to the current one, on read. A file of a newer schema is
 * refused with SCHEMA_TOO_NEW before anything else is judged (its shape may have changed), so it is
 * never migrated nor rewritten.
 */
export function migrate(data: unknown, file: string): QueueFile {
  if (data == null) return { version: SCHEMA_VERSION, entries: [] };
  const corrupt = (what: string) =>
    new QueueError(
      'CORRUPT',
      `The queue file ${file} ${what}; repair or move the file away, then run again.`,
      { file },
    );
  if (typeof data !== 'object' || Array.isArray(data)) throw corrupt('is not a queue (no object at the top)');
  const raw = data as { version?: unknown; entries?: unknown };
  // The original tool wrote no version.
  const version = raw.version === undefined ? 1 : raw.version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw corrupt(`has an invalid schema version (${JSON.stringify(version)})`);
  }
  if (version > SCHEMA_VERSION) {
    throw new QueueError(
      'SCHEMA_TOO_NEW',
      `The queue file ${file} has schema version ${version}, newer than the ${SCHEMA_VERSION} this oxenvcs knows, so it was left unchanged; upgrade oxenvcs to use it.`,
      { file, schemaVersion: version },
    );
  }
  if (!Array.isArray(raw.entries)) throw corrupt('has no "entries" list');
  if (version === 1) return { version: SCHEMA_VERSION, entries: (raw.entries as V1Entry[]).map(fromV1) };
  return raw as QueueFile;
}
