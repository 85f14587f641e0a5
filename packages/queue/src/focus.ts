import type { Operation, QueueEntry } from './types.js';

/**
 * The snapshot's text, one entry a line, and reading back only the lines that matter.
 *
 * A snapshot is `{"version":V,"generation":"G","size":N,"entries":[` then each entry on its own
 * line (a comma ends every one but the last), then `]}` on the last line: JSON as any reader parses
 * it, and, since `JSON.stringify` never writes a raw newline, every newline is one of these breaks.
 * N is the length of what follows `[` (in UTF-16 units): the search below is right only for text
 * exactly as `JSON.stringify` wrote it (`"projectDir":"/a"`, never `"projectDir": "/a"` or a
 * `\u` escape), so a file edited by hand or by another tool, which a whole read still accepts,
 * is read whole: its length no longer matches (an edit that keeps the length exactly, and changes
 * only how an entry is spelt, is the case this cannot see).
 * A writer that needs a few entries (an enqueue needs its own scope's, and those that share its
 * key or are finished) finds their lines by searching the bytes for the text such an entry must
 * contain, and decodes those lines only: the others are neither decoded nor written again (the
 * change goes to the journal), so their count costs the read of the file and little more.
 */

/** The snapshot of `entries`, named by `generation`. */
export function snapshotText(entries: readonly QueueEntry[], generation: string, version: number): string {
  const body = entries.length === 0 ? '\n]}' : `\n${entries.map((e) => JSON.stringify(e)).join(',\n')}\n]}`;
  return `{"version":${version},"generation":"${generation}","size":${body.length},"entries":[${body}`;
}

/** Where each entry's line is in a snapshot's text: `[starts[i], ends[i])`, without its comma. */
export interface EntryLines {
  readonly starts: readonly number[];
  readonly ends: readonly number[];
}

/**
 * The entry lines of a snapshot of `generation` in the layout above; undefined when `text` is not
 * in it (an older writer's single line, a hand edit, a torn or foreign file): the caller reads the
 * whole file then, which judges it. Every line is checked to be framed as an entry (`{…}` and its
 * comma), not parsed. (On the text, not the bytes: a string's `indexOf` costs far less per call
 * than a Buffer's, and there is one call a line.)
 */
export function entryLines(text: string, generation: string, version: number): EntryLines | undefined {
  const head = `{"version":${version},"generation":"${generation}","size":`;
  if (!text.startsWith(head)) return undefined;
  const open = text.indexOf(',"entries":[\n', head.length);
  if (open < 0 || open - head.length > 10) return undefined;
  const size = text.slice(head.length, open);
  if (!/^\d+$/.test(size) || text.length - (open + ',"entries":['.length) !== Number(size)) return undefined;
  const starts: number[] = [];
  const ends: number[] = [];
  const closed = (at: number) => text.length - at === 2 && text.endsWith(']}');
  let at = open + ',"entries":[\n'.length;
  for (;;) {
    const nl = text.indexOf('\n', at);
    if (nl < 0) return closed(at) ? { starts, ends } : undefined;
    // Only the last entry goes without a comma: the closing line follows it.
    const last = text.charCodeAt(nl - 1) === CLOSE;
    const end = last ? nl : nl - 1;
    if (
      end - at < 2 ||
      text.charCodeAt(at) !== OPEN ||
      text.charCodeAt(end - 1) !== CLOSE ||
      (!last && text.charCodeAt(end) !== COMMA)
    )
      return undefined;
    starts.push(at);
    ends.push(end);
    at = nl + 1;
    if (last) return closed(at) ? { starts, ends } : undefined;
  }
}

const OPEN = 0x7b; // {
const CLOSE = 0x7d; // }
const COMMA = 0x2c;
const ID_HEAD = '{"id":"';

/** The id of the entry on a line, when the line starts with it (as every entry this queue writes). */
export function idOfLine(text: string, start: number, end: number): string | undefined {
  if (!text.startsWith(ID_HEAD, start)) return undefined;
  const from = start + ID_HEAD.length;
  const close = text.indexOf('"', from);
  if (close < 0 || close >= end) return undefined;
  const id = text.slice(from, close);
  // A backslash would be an escape: leave such an id to a full decode.
  return id.includes('\\') ? undefined : id;
}

/**
 * Marks the lines that contain any of `needles` (exact text, e.g. `"status":"done"`): one search
 * of the whole text per needle, each hit placed on its line.
 */
export function markLines(
  text: string,
  lines: EntryLines,
  needles: readonly string[],
  marks: Uint8Array,
): void {
  const { starts, ends } = lines;
  for (const needle of needles) {
    for (let hit = text.indexOf(needle); hit >= 0; hit = text.indexOf(needle, hit + 1)) {
      // The line the hit is on: the last start at or before it.
      let lo = 0;
      let hi = starts.length - 1;
      let line = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (starts[mid]! <= hit) {
          line = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      if (line >= 0 && hit < ends[line]!) marks[line] = 1;
    }
  }
}

/** Decodes the entry on a line; undefined when it is not a JSON object (a full read judges the file). */
export function decodeLine<Op extends Operation>(
  text: string,
  start: number,
  end: number,
): QueueEntry<Op> | undefined {
  try {
    const value: unknown = JSON.parse(text.slice(start, end));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as QueueEntry<Op>)
      : undefined;
  } catch {
    return undefined;
  }
}
