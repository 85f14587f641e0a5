import { stripVTControlCharacters } from 'node:util';
import {
  type ConnectivityReason,
  type EngineErrorCode,
  type EntryReason,
  type GuardReport,
  type HeartbeatNote,
  type InputProblemCode,
  type LockState,
  type OxvcsReasonCode,
  type PushResume,
  type PushUnresumable,
  type QueuedReason,
  type QueueEntry,
  shortId,
} from '@oxvcs/engine';
import type { LiveHeartbeat, LostLock, TakeOnRemote, Transfer } from './reducer.js';

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is matched
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// OSC / DCS / SOS / PM / APC strings in their C1 form (stripVTControlCharacters knows the 7-bit ones).
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is matched
const C1_STRINGS = /[\u0090\u0098\u009d-\u009f][\s\S]*?(?:\u0007|\u001b\\|\u009c|$)/g;

/**
 * Text from another user, a record, a server or the queue file made safe for the terminal: escape
 * sequences removed (a title change, a screen clear…), tabs and line breaks turned into spaces,
 * every other control character and bidirectional override removed. Ink writes text as it is.
 */
export function safe(text: string): string {
  CONTROLS.lastIndex = 0;
  if (!CONTROLS.test(text)) return text;
  CONTROLS.lastIndex = 0;
  return stripVTControlCharacters(text.replace(C1_STRINGS, '')).replace(CONTROLS, (c) =>
    c === '\t' || c === '\n' || c === '\r' ? ' ' : '',
  );
}

/** "45s", "5m", "2h 3m", "3d 4h". */
export function span(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${h % 24}h`;
}

/** Terminal-safe, then padded or truncated to exactly `width` characters. */
export function fit(text: string, width: number): string {
  if (width <= 0) return '';
  const clean = safe(text);
  if (clean.length <= width) return clean.padEnd(width);
  return `${clean.slice(0, Math.max(0, width - 1))}…`;
}

/** The lock line of the header (terminal-safe); `now`: the server's clock (lease times are on it). */
export function lockLine(lock: LockState | undefined, now: number): string {
  if (!lock) return 'Lock: unknown';
  switch (lock.state) {
    case 'unlocked':
      return `Lock: free${lock.lastHolder ? ` (last: ${safe(lock.lastHolder)})` : ''}`;
    case 'held-by-you':
      return `Lock: YOURS, ${span(Date.parse(lock.lease.expiresAt) - now)} left (token ${lock.lease.fencingToken})`;
    case 'held-by-other':
      return `Lock: held by ${safe(lock.lease.holder)}, ${span(Date.parse(lock.lease.expiresAt) - now)} left${lock.lease.comment ? ` "${safe(lock.lease.comment)}"` : ''}`;
    case 'expired':
      return `Lock: expired ${span(now - Date.parse(lock.lease.expiresAt))} ago (${lock.yours ? 'yours' : safe(lock.lease.holder)})`;
    case 'broken':
      return `Lock: BROKEN by ${safe(lock.brokenBy)}${lock.reason ? `: ${safe(lock.reason)}` : ''}`;
    case 'corrupt':
      return `Lock: record invalid${lock.writtenBy ? ` (by ${safe(lock.writtenBy)})` : ''} (break with force)`;
  }
}

/**
 * Who waits in line for the lock, for the end of the header's lock line (terminal-safe): ` · bob
 * is waiting since 12:10`, or with more ` · waiting: bob since 12:10, carol since 12:14`; empty
 * when nobody waits. Names are said as people say them (`bob@studio` → `bob`).
 */
export function waitingText(lock: LockState | undefined, now: number): string {
  const line = lock?.waiters ?? [];
  const name = (holder: string) => safe(holder.split('@')[0] || holder);
  const [first] = line;
  if (!first) return '';
  if (line.length === 1) return ` · ${name(first.holder)} is waiting since ${clock(first.since, now)}`;
  return ` · waiting: ${line.map((w) => `${name(w.holder)} since ${clock(w.since, now)}`).join(', ')}`;
}

/**
 * The footer's key hints, fitted to `width`: the least used hints go first, so `? help` and
 * `q quit` are always shown (the status on the left is shortened last).
 */
export function footer(status: string, syncing: boolean, width: number): string {
  const hints = [
    syncing ? 'x cancel' : 's sync',
    'r retry',
    'l lock',
    'd remove',
    'c clear',
    '/ filter',
    '? help',
    'q quit',
  ];
  // Dropped first to last when the line is too long.
  const dropOrder = ['c clear', '/ filter', 'd remove', 'l lock', 'r retry'];
  const line = (shown: string[]) => `${status} · ${shown.join(' · ')}`;
  let shown = hints;
  for (const hint of dropOrder) {
    if (line(shown).length <= width) break;
    shown = shown.filter((h) => h !== hint);
  }
  const tail = ` · ${shown.join(' · ')}`;
  if (status.length + tail.length <= width) return `${status}${tail}`;
  const room = width - tail.length;
  return room > 1 ? `${status.slice(0, room - 1)}…${tail}` : tail.slice(3).slice(-width);
}

/**
 * A state folder the engine refused as the TUI starts (INVALID_INPUT on `OXENVCS_HOME`, the only
 * typed input the TUI takes that the engine's rules check), in words; undefined for anything else.
 */
export function refusedStateDir(error: unknown): string | undefined {
  const e = error as EngineFacts;
  if (e?.name !== 'EngineError' || e.field !== 'OXENVCS_HOME') return undefined;
  const todo =
    'set OXENVCS_HOME to an absolute path outside any project (e.g. "$HOME/.oxenvcs"), or unset it.';
  if (e.problem === 'relative')
    return `OXENVCS_HOME ("${safe(e.value ?? '')}") is a relative path, which would follow the folder you are in; ${todo}`;
  if (e.problem === 'inside-repository')
    return `The state folder ${safe(e.value ?? '')} is inside the Oxen repository at ${safe(e.repository ?? '?')}, where \`oxen add\` would commit your lease keys; ${todo}`;
  return undefined;
}

/**
 * No project, or a remote URL that is not one, as the TUI starts (the library gives the code and
 * the facts; the remedy names the TUI's own flags), in words; undefined for anything else.
 */
export function refusedProject(error: unknown): string | undefined {
  const e = error as { name?: string; code?: string; problem?: string; url?: string; directory?: string };
  if (e?.name !== 'OxenError') return undefined;
  if (e.code === 'NOT_A_REPOSITORY' && e.directory !== undefined)
    return `No Oxen repository at ${safe(e.directory)} or above it; start oxenvcs-tui inside a project (or pass --project).`;
  if (e.code !== 'REMOTE_URL_INVALID') return undefined;
  const url = `The remote URL "${safe(e.url ?? '?')}"`;
  const shape = 'http(s)://host[:port]/<namespace>/<repo>';
  switch (e.problem) {
    case 'credentials':
      return `${url} carries credentials; remove them from the URL and store the token with \`oxenvcs auth login\`.`;
    case 'not-a-url':
    case 'not-a-repository-url':
      return `${url} is not of the form ${shape}; fix the repository's remote or --remote.`;
    default:
      return undefined;
  }
}

/** The facts of an `EngineError` as the TUI receives it (structurally, not by class). */
interface EngineFacts {
  readonly name?: string;
  readonly code?: string;
  readonly field?: string;
  readonly problem?: string;
  readonly value?: string;
  readonly repository?: string;
  readonly origin?: string;
  readonly operation?: string;
  readonly timeoutMs?: number;
  readonly connectivity?: ConnectivityReason;
  readonly pid?: number;
  readonly key?: string;
}

/** `--project` or `OXENVCS_HOLDER` refused as the TUI starts, in words; undefined for other input. */
function refusedSetup(e: EngineFacts): string | undefined {
  const given = safe(e.value ?? '?');
  if (e.field === 'OXENVCS_HOLDER')
    return 'OXENVCS_HOLDER holds control characters or is over 200 characters; set it to a plain name such as ada@studio.';
  if (e.field !== 'project') return undefined;
  if (e.problem === 'not-a-folder')
    return `--project ${given} is a file; give the folder to lock (e.g. the .logicx package).`;
  if (e.problem === 'no-such-folder')
    return `--project ${given}: no such folder here; give an existing folder inside the repository (pull it first if it is someone else's).`;
  return `--project ${given} is outside the repository at ${safe(e.repository ?? '?')}; give a folder inside it.`;
}

/**
 * An engine failure in the TUI's words (the engine gives the code and the facts), or undefined to
 * show its message. Every code is listed: the compiler finds one added and not yet considered.
 */
function engineErrorText(e: EngineFacts): string | undefined {
  if (e.name !== 'EngineError') return undefined;
  const code = e.code as EngineErrorCode;
  switch (code) {
    case 'INVALID_INPUT':
      return refusedStateDir(e) ?? refusedSetup(e);
    case 'OFFLINE':
      return e.connectivity ? `Offline: ${connectivityText(e.connectivity)}` : undefined;
    case 'DEADLINE':
      return e.origin && e.timeoutMs !== undefined
        ? `${safe(e.origin)} did not answer within ${Math.round(e.timeoutMs / 100) / 10} s; try again`
        : undefined;
    case 'KEEPALIVE_RUNNING':
      return `A keep-alive${e.pid === undefined ? '' : ` (pid ${e.pid})`} already renews the lock on ${e.key === undefined || e.key === '.' ? 'this project' : safe(e.key)}`;
    case 'CONFIG_INVALID':
    case 'PROJECT_GONE':
    case 'STATE_UNREADABLE':
    case 'STATE_NOT_A_FILE':
    case 'NOTHING_TO_COMMIT':
    case 'TAKE_INCOMPLETE':
    case 'WAIT_ENDED':
      return undefined;
    default:
      return unworded(code);
  }
}

/** A code this version does not know (a newer engine's): its message is shown. */
const unworded = (_code: never): undefined => undefined;

/**
 * Any failure as the TUI shows it: in its own words where the library gave a code, else the message
 * (terminal-safe), its ISO times as {@link moment} says them. A lock refusal's times are on the
 * server's clock, so they are told against its `serverNow` (the server's time of the refusal), as
 * the CLI tells them, not against this machine's clock, which may run days off.
 */
export function errorText(error: unknown): string {
  const e = error as (EngineFacts & { readonly serverNow?: unknown }) | undefined;
  const words = (e && (engineErrorText(e) ?? refusedProject(e))) ?? undefined;
  if (words !== undefined) return words;
  const now = typeof e?.serverNow === 'number' ? e.serverNow : Date.now();
  return safe(error instanceof Error ? error.message : String(error)).replace(ISO_TIME, (iso) =>
    moment(iso, now),
  );
}

/** What a connectivity check found, in the TUI's short words (each code worded). */
export function connectivityText(reason: ConnectivityReason): string {
  switch (reason.code) {
    case 'oxen-answered':
      return `${safe(reason.origin)} answered (HTTP ${reason.status}, oxen ${safe(reason.serverVersion)})`;
    case 'auth-required':
      return `${safe(reason.origin)} answered HTTP ${reason.status} (authentication required)`;
    case 'not-oxen':
      return `${safe(reason.origin)} answered HTTP ${reason.status}, not as an Oxen server (a captive portal or proxy?)`;
    case 'requests-answered':
      return `${safe(reason.origin)} answered`;
    case 'invalid-url':
      return `the remote URL "${safe(reason.url)}" is not a valid URL`;
    case 'cancelled':
      return 'the check was cancelled';
    case 'timeout':
      return `${safe(reason.origin)} did not answer within ${reason.timeoutMs} ms`;
    case 'unreachable':
      return `${safe(reason.origin)} is unreachable (${safe(reason.errno)})`;
    case 'tls-failed':
      return `${safe(reason.origin)} failed the TLS handshake (${safe(reason.errno)})`;
    case 'unrecognised':
      return `could not tell whether ${safe(reason.origin)} is reachable: ${safe(reason.detail)}`;
    default:
      return otherReason(reason);
  }
}

/** Why an operation was queued instead of run, in the TUI's words (each code worded). */
export function queuedText(reason: QueuedReason): string {
  switch (reason.code) {
    case 'offline':
      return 'Network is offline';
    case 'resting':
      return `${safe(reason.origin)} failed repeatedly and is being rested for up to ${Math.round(reason.restMs / 1000)} s`;
    case 'behind':
      return `${reason.count === 1 ? 'an operation' : `${reason.count} operations`} queued before it in this project must finish first; a sync (s) runs them in order`;
    case 'deadline':
      return `gave up for now: ${safe(reason.origin)} did not finish within ${Math.round(reason.timeoutMs / 100) / 10} s`;
    case 'gave-up':
      return `gave up for now: ${safe(reason.detail)}`;
    default:
      return otherReason(reason);
  }
}

/** A stored `invalid-input` reason's problem, in the TUI's short words. */
const INPUT_PROBLEMS: Readonly<Record<string, string>> = {
  empty: 'is empty',
  'option-like': 'starts with "-" (oxen would read it as an option)',
  'control-character': 'holds a control character',
  'too-long': 'is too long',
  'outside-repository': 'is a path outside the repository',
} satisfies Partial<Record<InputProblemCode, string>>;

/**
 * Text typed into a one-line field, from one input chunk: what comes before the first line break
 * (made terminal-safe), and whether there was one (an Enter in a paste or in fast typing ends the
 * line, as a lone Enter does; the rest of the chunk is not part of the line).
 */
export function typedLine(chunk: string): { readonly text: string; readonly enter: boolean } {
  const end = chunk.search(/[\r\n]/);
  return end < 0 ? { text: safe(chunk), enter: false } : { text: safe(chunk.slice(0, end)), enter: true };
}

/** Why an entry has its status, in the TUI's short words (the queue stores a code and facts). */
export function reasonText(reason: EntryReason | undefined): string {
  if (!reason) return '';
  const f = reason.facts ?? {};
  const fact = (name: string) => safe(String(f[name] ?? ''));
  // A queue file written by another version may hold a code this one does not know: see `otherCode`.
  const code = reason.code as OxvcsReasonCode;
  switch (code) {
    case 'will-retry':
      return `will retry: ${fact('reason')}`;
    case 'gave-up':
      return `gave up after ${fact('attempts')} attempts: ${fact('reason')}`;
    case 'failed':
      return fact('reason');
    case 'note':
      return fact('text');
    case 'expired':
      return `expired at ${fact('expiresAt')} before it could run`;
    case 'interrupted':
      return 'interrupted; the remote is checked before it is replayed';
    case 'cancelled-by-release':
      return `cancelled by release ${shortId(fact('entry'))}`;
    case 'cancelled-with-acquire':
      return `cancelled with the pending acquisition ${shortId(fact('entry'))}`;
    case 'replaced':
      return `replaced by ${shortId(fact('entry'))}, the same request typed again`;
    case 'lease-ended':
      return `the lease ended at ${fact('at')}`;
    case 'project-gone':
      return `its project folder ${fact('project')} is gone`;
    case 'invalid-input':
      return `not run: its ${fact('field')} ${INPUT_PROBLEMS[String(f.problem)] ?? fact('problem')} (queued unchecked by an older version)`;
    default:
      return otherCode(code);
  }
}

/**
 * A reason code this version does not word (written by a newer one), shown as it is. Typed `never`
 * so that a code added to the engine's or the queue's union fails typecheck until it is worded.
 */
const otherCode = (code: never): string => safe(String(code));

/** As {@link otherCode}, for a reason object whose code this version does not word. */
const otherReason = (reason: never): string => safe(String((reason as { code?: unknown }).code));

/** A time as the TUI shows it: local `HH:MM`, with the date when it is not today. */
export function clock(iso: string, now: number): string {
  const t = new Date(iso);
  if (!Number.isFinite(t.getTime())) return safe(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  const hm = `${pad(t.getHours())}:${pad(t.getMinutes())}`;
  return t.toDateString() === new Date(now).toDateString()
    ? hm
    : `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())} ${hm}`;
}

/** `18:05 (in 3h58m)` or `18:05 (5m ago)`. */
export function moment(iso: string, now: number): string {
  const d = Date.parse(iso) - now;
  if (!Number.isFinite(d)) return safe(iso);
  return `${clock(iso, now)} (${Math.abs(d) < 1000 ? 'now' : d > 0 ? `in ${span(d)}` : `${span(-d)} ago`})`;
}

const ISO_TIME = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})/g;

/**
 * Why an entry failed, waits or expired, terminal-safe, ISO times as local ones. The one place
 * the TUI words an entry's reason (the CLI's counterpart is `entryReason` in its render.ts).
 */
export function entryReason(entry: QueueEntry, now: number, fallback = 'failed'): string {
  return (failedText(entry) || safe(entry.lastError?.message ?? fallback)).replace(ISO_TIME, (iso) =>
    clock(iso, now),
  );
}

/**
 * Why an entry failed: a refusal of the credentials (AUTH) stored with it says how to store a
 * token, a push refused because someone else pushed first (NON_FAST_FORWARD) says to pull, as the
 * CLI says them; anything else as its reason says it.
 */
export function failedText(entry: QueueEntry): string {
  const last = entry.lastError;
  const link = last?.chain[0];
  if (link?.name === 'OxenError' && link.code === 'NON_FAST_FORWARD')
    // Oxen's own words ("Branch main is behind remote commit …") name neither the cause nor our command.
    return 'Not pushed: the remote branch has commits this copy does not have (someone else pushed first), so it was left as it is; run `oxenvcs pull`, then push again.';
  if (link?.name === 'OxenError' && link.code === 'AUTH') {
    let origin = 'The remote';
    try {
      origin = safe(new URL(entry.operation.remote).origin);
    } catch {}
    const status = last?.facts?.status;
    return status === 403
      ? `${origin} refused the credentials (HTTP 403): the token stored for it may not do this; store one that may with \`oxenvcs auth login\`.`
      : `${origin} refused the credentials (HTTP ${typeof status === 'number' ? status : 401}): the token stored for it is missing or not valid; store one with \`oxenvcs auth login\`.`;
  }
  return reasonText(entry.reason);
}

/** The banner of what failed or expired while the user was away: a title, one line per entry, a hint. */
export function awayLines(
  entries: readonly QueueEntry[],
  describe: (entry: QueueEntry) => string,
  now: number,
  room: number,
): { readonly text: string; readonly colour: 'red' | 'yellow' | 'cyan' | undefined }[] {
  const named = entries.slice(0, Math.max(1, room));
  const rest = entries.length - named.length;
  return [
    {
      text: `While you were away, ${entries.length} queued operation${entries.length === 1 ? '' : 's'} failed or expired:`,
      colour: 'yellow',
    },
    ...named.map((e) => ({
      text: `${e.status === 'failed' ? '✗ Failed' : '⚠ Expired'}: ${describe(e)} (${shortId(e.id)}): ${entryReason(e, now, e.status === 'failed' ? 'failed' : 'too old to run')}`,
      colour: e.status === 'failed' ? ('red' as const) : ('yellow' as const),
    })),
    ...(rest > 0 ? [{ text: `  …and ${rest} more (Tab shows failed entries)`, colour: undefined }] : []),
    { text: '  Select one below: r retry · d remove · Esc hides this', colour: 'cyan' },
  ];
}

/**
 * The banner of a lock this window's keep-alive lost: said at once, in red, above everything, with
 * what to do; `name`: the project or folder the lock is on.
 */
export function lostLines(
  lost: LostLock,
  name: string,
): { readonly text: string; readonly colour: 'red' | 'cyan' }[] {
  return [
    {
      text: `✗ LOCK LOST at ${clock(new Date(lost.at).toISOString(), lost.at)}: ${name} is no longer yours${
        lost.reason
          ? ` (${safe(lost.reason)
              .replace(ISO_TIME, (iso) => clock(iso, lost.at))
              .replace(/\.$/, '')})`
          : ''
      }`,
      colour: 'red',
    },
    {
      text: '  Stop editing: saves now are not under your lock · l, then a, to take it again · Esc hides this',
      colour: 'cyan',
    },
  ];
}

/**
 * What the read-only guard did, in one line for the footer ("made 312 files read-only"), or
 * undefined when it changed nothing and nothing failed.
 */
export function guardText(report: GuardReport): string | undefined {
  const files = (n: number) => `${n} file${n === 1 ? '' : 's'}`;
  const first = report.failed[0];
  const parts = [
    report.changed > 0 ? `made ${files(report.changed)} ${report.made}` : '',
    report.recordFailed ? `the read-only guard could not keep its record (${safe(report.recordFailed)})` : '',
    first
      ? `could not make ${files(report.failed.length)} ${report.made} (${safe(first.path)}: ${safe(first.errno)})`
      : '',
  ].filter(Boolean);
  return parts.length > 0 ? parts.join('; ') : undefined;
}

const MiB = 1024 * 1024;

/** The progress line of a push or pull being replayed: a bar, percent, sizes, files, rate, time left. */
export function transferLine(t: Transfer): string {
  const p = t.progress;
  const verb = t.operation === 'push' ? 'Pushing' : 'Pulling';
  const done = p.bytesDone ?? 0;
  const seconds = Math.max(0.001, (t.at - t.startedAt) / 1000);
  const rate = t.at > t.startedAt ? done / seconds : 0;
  const files =
    p.filesDone !== undefined
      ? ` ${p.filesDone}${p.filesTotal !== undefined ? `/${p.filesTotal}` : ''} files`
      : '';
  const speed = rate > 0 ? ` at ${(rate / MiB).toFixed(1)} MiB/s` : '';
  if (!p.bytesTotal) return `${verb}: ${(done / MiB).toFixed(1)} MiB${files}${speed}`;
  const fraction = Math.min(1, done / p.bytesTotal);
  const width = 16;
  const filled = Math.round(fraction * width);
  const left = rate > 0 && fraction < 1 ? `, ${Math.ceil((p.bytesTotal - done) / rate)} s left` : '';
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${verb}: ${Math.floor(fraction * 100)}% ${(done / MiB).toFixed(1)}/${(p.bytesTotal / MiB).toFixed(1)} MiB${files}${speed}${left}`;
}

/**
 * The keep-alive of the lock in two lines (its state, then when it last got through and when the
 * lease ends), from this window's own heartbeat events and the keep-alive note `lock status`
 * reads (this window's or a background process's); undefined when there is nothing to say.
 */
export function keepAliveLines(input: {
  readonly lock: LockState | undefined;
  readonly note: HeartbeatNote | undefined;
  readonly live: LiveHeartbeat | undefined;
  readonly ownPid: number;
  /** This machine's wall clock: what the keep-alive's own times (its last renewal) are told against. */
  readonly now: number;
  /** The server's clock, as last read: what the lease end is told against. @default now */
  readonly serverNow?: number;
}): { readonly state: string; readonly detail: string; readonly colour?: 'red' | 'yellow' } | undefined {
  const { lock, note, live, ownPid, now } = input;
  const serverNow = input.serverNow ?? now;
  const yours = lock?.state === 'held-by-you' ? lock.lease : undefined;
  // This window's own heartbeat, when it is the one running (else the note says who does).
  const own = live && (!note || note.pid === ownPid) ? live : undefined;
  const state = own?.state ?? note?.state;
  const leaseEnd = own?.leaseEndsAt ?? note?.expiresAt ?? yours?.expiresAt;
  const ends = leaseEnd ? `the lease ends ${moment(leaseEnd, serverNow)}` : 'the lease end is unknown';
  if (!state) {
    if (!yours) return undefined;
    return { state: 'Keep-alive: none', detail: `${ends} unless you renew it (n)`, colour: 'yellow' };
  }
  const where = own || note?.pid === ownPid ? 'in this window' : `in the background (pid ${note?.pid})`;
  const confirmedAt = own?.renewedAt !== undefined ? new Date(own.renewedAt).toISOString() : note?.updatedAt;
  const confirmed = confirmedAt ? `last confirmed ${moment(confirmedAt, now)}; ` : '';
  switch (state) {
    case 'healthy': {
      // On the state line: the detail line is full at 80 columns.
      const next = !own && note?.nextRenewalAt ? `, next renewal ${clock(note.nextRenewalAt, now)}` : '';
      return { state: `Keep-alive: running ${where}${next}`, detail: `${confirmed}${ends}` };
    }
    case 'jeopardy': {
      const failures = own?.failures ?? note?.failures ?? 0;
      return {
        state: `Keep-alive: IN JEOPARDY ${where} (${failures} renewal${failures === 1 ? '' : 's'} failed)`,
        detail: `${ends} unless a renewal gets through`,
        colour: 'yellow',
      };
    }
    case 'lost':
      return {
        state: 'Keep-alive: STOPPED, the lock was lost',
        detail: note?.reason ? safe(note.reason) : 'taken over, broken, or the lease ended before a renewal',
        colour: 'red',
      };
    case 'stopped':
      return yours
        ? { state: 'Keep-alive: stopped', detail: `${ends} unless you renew it (n)`, colour: 'yellow' }
        : undefined;
  }
}

/** A take's push that stopped partway: `push: 7 of 10 parts on the remote (at least), 6.7 of 9.5 MB`. */
export function takeText(take: TakeOnRemote): string {
  // In the take's unit, decimal as sizes of takes are read: `1.4 of 2.0 GB`.
  const [scale, unit] = take.bytes >= 1e9 ? [1e9, 'GB'] : take.bytes >= 1e6 ? [1e6, 'MB'] : [1e3, 'KB'];
  const size = (bytes: number) => (bytes / scale).toFixed(1);
  if (take.partsOnRemote === undefined)
    return `push: a take of ${take.parts} parts (${size(take.bytes)} ${unit}) stopped partway; parts on the remote are skipped`;
  return `push: ${take.partsOnRemote} of ${take.parts} parts on the remote (at least), ${size(take.bytesOnRemote ?? 0)} of ${size(take.bytes)} ${unit}`;
}

const SIZE_UNITS = ['B', 'KB', 'MB', 'GB', 'TB'] as const;
const sizeExp = (bytes: number) => (bytes < 1000 ? 0 : Math.min(4, Math.floor(Math.log10(bytes) / 3)));

/** A size as people read a take's, as the CLI says it: decimal units, one decimal (`1.4 GB`, `512 B`). */
export function sizeText(bytes: number): string {
  const exp = sizeExp(bytes);
  return exp === 0 ? `${bytes} B` : `${(bytes / 1000 ** exp).toFixed(1)} ${SIZE_UNITS[exp]}`;
}

/** `part` of `total` in the total's unit: `1.4 of 2.0 GB`. */
export function partOfText(part: number, total: number): string {
  const exp = sizeExp(total);
  if (exp === 0) return `${part} of ${total} B`;
  return `${(part / 1000 ** exp).toFixed(1)} of ${(total / 1000 ** exp).toFixed(1)} ${SIZE_UNITS[exp]}`;
}

/**
 * A push of a recorded take resuming after a cut, in the CLI's words: `Resuming the push: 7 of 10
 * parts already on the remote, 1.4 of 2.0 GB; the rest goes one part at a time.`
 */
export function resumeText(resume: PushResume): string {
  const rest =
    resume.partsPresent === resume.partsTotal
      ? 'only the branch is left to move'
      : 'the rest goes one part at a time';
  return `Resuming the push: ${resume.partsPresent} of ${resume.partsTotal} parts already on the remote, ${partOfText(resume.bytesPresent, resume.bytesTotal)}; ${rest}.`;
}

/**
 * What a push sends that cannot resume midway if it is cut, and how to avoid that next time, in
 * the CLI's words (the take is recorded with the CLI: `oxenvcs commit --part-size`).
 */
export function unresumableText(fact: PushUnresumable): string {
  const budget = sizeText(fact.partBytes);
  if (fact.recorded) {
    const parts = fact.parts ?? [];
    const one = parts.length === 1;
    return `${one ? `Part ${parts[0]} of this take is` : `Parts ${parts.join(', ')} of this take are`} larger than its ${budget} part size (${sizeText(fact.bytes)}${one ? '' : ' the largest'}): a push cut inside one sends it again from its start, as Oxen resumes only whole commits; next time keep single files under the part size (bounce or split them).`;
  }
  return `This push sends ${sizeText(fact.bytes)} in commits not recorded as parts: a push cut midway sends the commit it was in again from its start, as Oxen resumes only whole commits; next time record the take with \`oxenvcs commit -m "…" --part-size ${budget.replace(' ', '')}\` so a cut costs at most one part.`;
}

/**
 * `text` broken at spaces into lines of at most `width` characters (a longer word is cut), the
 * lines after the first indented by `indent` spaces (under the text after a mark such as `⚠ `).
 */
export function wrap(text: string, width: number, indent = 2): string[] {
  if (width <= 0) return [''];
  const pad = ' '.repeat(Math.min(indent, width - 1));
  const lines: string[] = [];
  let prefix = '';
  let words = '';
  const flush = () => {
    lines.push(prefix + words);
    prefix = pad;
    words = '';
  };
  for (let word of safe(text)
    .split(' ')
    .filter((w) => w !== '')) {
    if (words && prefix.length + words.length + 1 + word.length > width) flush();
    while (!words && prefix.length + word.length > width) {
      const cut = width - prefix.length;
      lines.push(prefix + word.slice(0, cut));
      prefix = pad;
      word = word.slice(cut);
    }
    words = words ? `${words} ${word}` : word;
  }
  if (words || lines.length === 0) flush();
  return lines;
}

/**
 * The lines just above the progress line: that the push being replayed resumes a take cut partway
 * (how much of it is already on the remote), while that push runs, and what a push sends that
 * cannot resume midway (until Esc or the next sync), each wrapped to `width`; at most `room`
 * lines, the last ending in `…` when there is more.
 */
export function pushNoteLines(
  notes: {
    readonly resume?: PushResume | undefined;
    readonly unresumable?: readonly PushUnresumable[] | undefined;
  },
  width: number,
  room: number,
): { readonly text: string; readonly colour: 'cyan' | 'yellow' }[] {
  const lines = [
    ...(notes.resume
      ? wrap(`ℹ ${resumeText(notes.resume)}`, width).map((text) => ({ text, colour: 'cyan' as const }))
      : []),
    ...(notes.unresumable ?? []).flatMap((fact) =>
      wrap(`⚠ ${unresumableText(fact)} (Esc hides this)`, width).map((text) => ({
        text,
        colour: 'yellow' as const,
      })),
    ),
  ];
  if (lines.length <= room) return lines;
  const kept = lines.slice(0, Math.max(0, room));
  const last = kept.at(-1);
  if (last)
    kept[kept.length - 1] = {
      ...last,
      text: last.text.length >= width ? `${last.text.slice(0, Math.max(0, width - 1))}…` : `${last.text}…`,
    };
  return kept;
}
