import { QueueError } from './errors.js';
import type { Operation, QueueEntry, QueueFile } from './types.js';

/**
 * Current schema version of the queue file. 4: the file is a snapshot named by its generation, and
 * changes since go to its journal (`<file>.journal-<generation>`, see journal.ts); an older version
 * would not read the journal, so it must refuse the file. 3: an entry's reason is a code and facts (`reason`)
 * instead of words (`statusReason`). 2: versioned, camelCase. 1: no version field (a caller's
 * legacy format, converted by its {@link LegacyReader}).
 */
export const SCHEMA_VERSION = 4;

/** Converts the entries of an unversioned (schema 1) file; absent: such a file is refused as corrupt. */
export type LegacyReader<Op extends Operation = Operation> = (
  entries: readonly unknown[],
) => QueueEntry<Op>[];

/** Schema 2 → 3: the words of `statusReason` are kept as a `note` reason; `heldBy` is computed now. */
function fromV2(entry: Record<string, unknown>): QueueEntry {
  const { statusReason, heldBy: _heldBy, ...rest } = entry;
  return {
    ...(rest as unknown as QueueEntry),
    ...(typeof statusReason === 'string' && statusReason
      ? { reason: { code: 'note', facts: { text: statusReason } } }
      : {}),
  };
}

/**
 * Upgrades any older queue file shape to the current one, on read. A file of a newer schema is
 * refused with SCHEMA_TOO_NEW before anything else is judged (its shape may have changed), so it is
 * never migrated nor rewritten.
 */
export function migrate<Op extends Operation = Operation>(
  data: unknown,
  file: string,
  legacy?: LegacyReader<Op>,
): QueueFile<Op> {
  if (data == null) return { version: SCHEMA_VERSION, entries: [] };
  if (typeof data !== 'object' || Array.isArray(data))
    throw new QueueError('CORRUPT', { problem: 'not-an-object', file });
  const raw = data as { version?: unknown; entries?: unknown };
  const version = raw.version === undefined ? 1 : raw.version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw new QueueError('CORRUPT', { problem: 'bad-version', file, schemaVersion: version });
  }
  if (version > SCHEMA_VERSION) {
    throw new QueueError('SCHEMA_TOO_NEW', { file, schemaVersion: version, knownVersion: SCHEMA_VERSION });
  }
  if (!Array.isArray(raw.entries)) throw new QueueError('CORRUPT', { problem: 'no-entries', file });
  if (version === 1) {
    if (!legacy) throw new QueueError('CORRUPT', { problem: 'no-version', file });
    return { version: SCHEMA_VERSION, entries: legacy(raw.entries) };
  }
  if (version === 2) {
    const entries = (raw.entries as Record<string, unknown>[]).map(fromV2) as QueueEntry<Op>[];
    return { version: SCHEMA_VERSION, entries };
  }
  return raw as QueueFile<Op>;
}
