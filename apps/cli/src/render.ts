import type {
  ConnectivityReason,
  EngineEvent,
  InputField,
  InputProblemCode,
  Lease,
  LockState,
  OxvcsReasonCode,
  QueuedReason,
  QueueEntry,
  RunSummary,
} from '@oxvcs/engine';
import { MAX_LEASE_HOURS, MIN_LEASE_HOURS, shortId } from '@oxvcs/engine';
import { guardLines } from './guard-words.js';
import { lockErrorWords } from './lock-words.js';
import { humanText, moment, safeText, type Ui } from './output.js';
import { oxenErrorWords } from './oxen-words.js';
import { grantedAfterWaiting } from './waiting.js';

/** A short description of an entry (the engine's own `describeOperation`, loaded with the engine). */
export type Describe = (entry: QueueEntry) => string;

/** A lock key as users read it: the whole project's key `.` is "this project". */
export const keyName = (key: string) => (key === '.' ? 'this project' : safeText(key));

/** An input the engine refused, as its facts say (`EngineError` INVALID_INPUT, or a stored reason). */
export interface InputFacts {
  readonly field: InputField;
  readonly problem: InputProblemCode;
  readonly value?: string;
  readonly limit?: number;
  readonly repository?: string;
  readonly min?: number;
  readonly max?: number;
}

const FIELD_NAMES: Readonly<Record<InputField, string>> = {
  branch: 'the branch name',
  'remote-name': "the remote's name in the project's Oxen config",
  comment: 'the --comment',
  reason: 'the --reason',
  OXENVCS_HOME: 'OXENVCS_HOME',
  project: 'the --project folder',
  OXENVCS_HOLDER: 'OXENVCS_HOLDER',
  timeout: 'the lock timeout',
};

/** What is wrong, after the field's name: "starts with "-", so oxen would read it as an option". */
function problemWords(f: InputFacts): string {
  switch (f.problem) {
    case 'empty':
      return 'is empty';
    case 'option-like':
      return 'starts with "-", so oxen would read it as an option';
    case 'control-character':
      return 'holds a control character (a newline, a tab or an escape)';
    case 'too-long':
      return `is longer than the ${f.limit ?? '?'} characters allowed`;
    case 'outside-repository':
      return 'is a path leading outside the repository';
    case 'relative':
      return 'is a relative path, which would follow the folder you are in (into a project)';
    case 'inside-repository':
      return `is inside the Oxen repository at ${safeText(f.repository ?? '?')}, where \`oxen add\` would commit your lease keys`;
    case 'not-a-folder':
      return 'is a file, not a folder';
    case 'no-such-folder':
      return 'names no folder here';
    case 'out-of-range':
      return `is outside ${f.min ?? '?'} to ${f.max ?? '?'}`;
  }
}

/** What to do about a refused input. */
function remedy(f: InputFacts): string {
  switch (f.field) {
    case 'branch':
      return f.problem === 'empty'
        ? 'name a branch (e.g. main), or check one out'
        : 'name the branch as `oxen branch` lists it';
    case 'remote-name':
      return 'give the remote a plain name (e.g. origin) in the .oxen/config.toml of the project';
    case 'comment':
    case 'reason':
      return 'shorten it';
    case 'OXENVCS_HOME':
      return 'set OXENVCS_HOME to an absolute path outside any project (e.g. "$HOME/.oxenvcs"), or unset it';
    case 'project':
      return 'give an existing folder inside the repository';
    case 'OXENVCS_HOLDER':
      return 'set it to a plain name such as ada@studio';
    case 'timeout':
      return `give a lease from 1 minute (${MIN_LEASE_HOURS.toFixed(4)} hours) to ${MAX_LEASE_HOURS} hours`;
  }
}

/**
 * The words for how a command was set up (the project folder, the holder name, the lease length)
 * rather than for a typed name or text: undefined for the fields the shared input rules check.
 */
function setupWords(f: InputFacts): string | undefined {
  const given = safeText(f.value ?? '?');
  switch (f.field) {
    case 'project':
      return f.problem === 'not-a-folder'
        ? `--project ${given} is a file; give the folder to lock (e.g. the .logicx package).`
        : f.problem === 'no-such-folder'
          ? `--project ${given}: no such folder here; give an existing folder inside the repository (pull it first if it is someone else's).`
          : `--project ${given} is outside the repository at ${safeText(f.repository ?? '?')}; give a folder inside it.`;
    case 'OXENVCS_HOLDER':
      return 'OXENVCS_HOLDER holds control characters or is over 200 characters; set it to a plain name such as ada@studio.';
    case 'timeout':
      return `The lock timeout must be from 1 minute (${MIN_LEASE_HOURS.toFixed(4)} hours) to ${MAX_LEASE_HOURS} hours (got ${given}).`;
    default:
      return undefined;
  }
}

/**
 * Whether the words of a refused input already say what to do, so no usage hint follows: true for
 * typed names and texts; false for the command's set-up (`--project`, `OXENVCS_HOLDER`, the lease
 * length), whose help tells the options.
 */
export const inputSaysAll = (f: InputFacts): boolean => setupWords(f) === undefined;

/** The one line for an input refused as it was typed: what was wrong, and what to do. */
export function inputWords(f: InputFacts): string {
  const setup = setupWords(f);
  if (setup !== undefined) return setup;
  const name = FIELD_NAMES[f.field];
  // Shown only when it helps and is short: a 5,000-character name is not repeated.
  const shown =
    f.value && f.problem !== 'too-long' && f.problem !== 'control-character' && f.problem !== 'empty'
      ? ` ("${safeText(f.value)}")`
      : '';
  const subject = `${name[0]!.toUpperCase()}${name.slice(1)}${shown}`;
  return `${subject} ${problemWords(f)}; ${remedy(f)}. Nothing was run or queued.`;
}

/**
 * Why an entry has its status, in words: the queue and the engine store a code and facts (see
 * `EntryReason`); the words are the CLI's. Undefined when the entry has no reason.
 */
export function reasonWords(entry: QueueEntry): string | undefined {
  const reason = entry.reason;
  if (!reason) return undefined;
  const f = reason.facts ?? {};
  const fact = (name: string) => String(f[name] ?? '');
  // A queue file written by another version may hold a code this one does not know: see `otherCode`.
  const code = reason.code as OxvcsReasonCode;
  // A lock or Oxen failure as the command would have worded it; the stored sentence names no command.
  const why = () => storedLockWords(entry) ?? storedOxenWords(entry) ?? fact('reason');
  switch (code) {
    case 'will-retry':
      return `Will retry: ${why()}`;
    case 'gave-up':
      return `Gave up after ${fact('attempts')} attempts: ${why()}`;
    case 'failed':
      return why();
    case 'expired':
      return `Expired at ${fact('expiresAt')} before it could run.`;
    case 'interrupted':
      return 'Interrupted while running; the remote will be checked before it is replayed.';
    case 'cancelled-by-release':
      return `Cancelled by release ${fact('entry')} before it ran.`;
    case 'cancelled-with-acquire':
      return `Cancelled together with the pending acquisition ${fact('entry')} it would have released.`;
    case 'replaced':
      return `Replaced by ${fact('entry')}, the same request typed again: one run does both.`;
    case 'lease-ended':
      return `The lease it would extend ended at ${fact('at')}.`;
    case 'project-gone':
      return `Its project folder ${fact('project')} is gone (or is no longer an Oxen repository); put the folder back and retry it, or remove it.`;
    case 'invalid-input': {
      const facts = { field: fact('field'), problem: fact('problem') } as InputFacts;
      const limit = f.limit === undefined ? {} : { limit: Number(f.limit) };
      return `Not run: ${FIELD_NAMES[facts.field] ?? fact('field')} it was queued with ${problemWords({ ...facts, ...limit })} (an older version queued it unchecked); remove it.`;
    }
    case 'note':
      return fact('text');
    default:
      return otherCode(code);
  }
}

/**
 * A reason code this version does not word (written by a newer one), shown as it is. Typed `never`
 * so that a code added to the engine's or the queue's union fails typecheck until it is worded.
 */
const otherCode = (code: never): string => String(code);

/** As {@link otherCode}, for a reason object whose code this version does not word. */
const otherReason = (reason: never): string => String((reason as { code?: unknown }).code);

/** What a connectivity check found, in one sentence (each code worded: the compiler finds a missing one). */
export function connectivityWords(reason: ConnectivityReason): string {
  switch (reason.code) {
    case 'oxen-answered':
      return `${reason.origin} answered (HTTP ${reason.status}, oxen ${reason.serverVersion}).`;
    case 'auth-required':
      return `${reason.origin} answered HTTP ${reason.status} (authentication required).`;
    case 'not-oxen':
      return `${reason.origin} answered HTTP ${reason.status} but not as an Oxen server (a captive portal or proxy?).`;
    case 'requests-answered':
      return `${reason.origin} answered the command's own requests.`;
    case 'invalid-url':
      return `The remote URL "${reason.url}" is not a valid URL.`;
    case 'cancelled':
      return 'The connectivity check was cancelled.';
    case 'timeout':
      return `${reason.origin} did not answer within ${reason.timeoutMs} ms.`;
    case 'unreachable':
      return `${reason.origin} is unreachable (${reason.errno}).`;
    case 'tls-failed':
      return `${reason.origin} failed the TLS handshake (${reason.errno}).`;
    case 'unrecognised':
      return `Could not tell whether ${reason.origin} is reachable: ${reason.detail}`;
    default:
      return otherReason(reason);
  }
}

/** Seconds to one decimal: `1.5 s`. */
const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/** Why an operation was queued instead of run (each code worded: the compiler finds a missing one). */
export function queuedWords(reason: QueuedReason): string {
  switch (reason.code) {
    case 'offline':
      return 'Network is offline';
    case 'resting':
      return `${reason.origin} failed repeatedly and is being rested for up to ${seconds(reason.restMs)}`;
    case 'behind': {
      const kinds = reason.operations;
      const shown = kinds.slice(0, 3).join(', ') + (kinds.length > 3 ? ` and ${kinds.length - 3} more` : '');
      return `${reason.count === 1 ? 'An operation' : `${reason.count} operations`} queued before it in this project must finish first (${shown}); \`oxenvcs queue sync\` runs them in order`;
    }
    case 'deadline':
      return `Gave up for now: ${reason.origin} did not finish within ${seconds(reason.timeoutMs)}`;
    case 'gave-up':
      return `Gave up for now: ${reason.detail}`;
    default:
      return otherReason(reason);
  }
}

/**
 * Why an entry failed or waits, in words a user can act on: terminal-safe, times as local times.
 * A queued renewal refused for a stale fencing token means you hold a newer grant of the lock
 * (you took it again since), so it is reported as not needed rather than as "acquire it again".
 */
export function entryReason(entry: QueueEntry, fallback = 'failed', now = Date.now()): string {
  const op = entry.operation;
  const codes = [entry.lastError?.code, ...(entry.lastError?.chain ?? []).map((l) => l.code)];
  if (op.kind === 'renew-lock' && entry.status === 'failed' && codes.includes('STALE_TOKEN')) {
    return `not needed: it was queued for an earlier grant of the lock on ${keyName(op.key)}, and you hold a newer one; remove it with \`oxenvcs queue remove ${shortId(entry.id)}\``;
  }
  return humanText(
    reasonWords(entry) ??
      storedLockWords(entry) ??
      storedOxenWords(entry) ??
      entry.lastError?.message ??
      fallback,
    now,
  );
}

/** A stored lock failure worded as the command would have said it (with what to run next). */
function storedLockWords(entry: QueueEntry): string | undefined {
  const last = entry.lastError;
  const link = last?.chain[0];
  if (!last || link?.name !== 'LockError') return undefined;
  return lockErrorWords({
    ...last.facts,
    name: link.name,
    message: link.message,
    ...(link.code ? { code: link.code } : {}),
  });
}

/**
 * A stored Oxen failure worded as the command would have said it (with what to run next: store a
 * token, pull first), the remote named by the entry's own; undefined to keep the stored message.
 */
function storedOxenWords(entry: QueueEntry): string | undefined {
  const last = entry.lastError;
  const link = last?.chain[0];
  if (!last || link?.name !== 'OxenError') return undefined;
  const origin = remoteOrigin(entry.operation.remote);
  return oxenErrorWords({
    ...last.facts,
    name: link.name,
    ...(link.code ? { code: link.code } : {}),
    ...(origin ? { origin } : {}),
  });
}

/** The origin (`http://host:port`) of a remote URL; undefined when it is not a URL. */
function remoteOrigin(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

/** Renders engine events as they happen (stderr), in the original tool's wording. */
export function renderEvent(ui: Ui, event: EngineEvent, describe: Describe): void {
  if (ui.json && !ui.verbose) return;
  switch (event.type) {
    case 'connectivity':
      if (ui.verbose)
        ui.err(
          `${ui.mark('info')} Network is ${event.result.state}: ${humanText(connectivityWords(event.result.reason))}`,
        );
      return;
    case 'auto-sync':
      ui.err(`[Auto-syncing ${event.pending} pending operation(s)...]`);
      return;
    case 'cache-not-saved':
      ui.err(
        `${ui.mark('warn')} Could not save ${safeText(event.file)}${event.errno === 'ENOSPC' || event.errno === 'EDQUOT' ? ': the disk is full' : event.errno ? ` (${event.errno})` : ''}; the remote has the change, this machine's note of it is not updated (free some space).`,
      );
      return;
    case 'queue-busy':
      ui.err(
        event.pid === undefined
          ? `${ui.mark('info')} Waiting for the queue file's lock ${safeText(event.lock)}, which names no process (left by a crash or an older version?); it is taken over if it stays unchanged for a few seconds. Ctrl-C stops waiting (nothing is lost).`
          : `${ui.mark('info')} Waiting for process ${event.pid}${event.command ? ` (${safeText(event.command)})` : ''}, which is writing the queue file; Ctrl-C stops waiting (nothing is lost).`,
      );
      return;
    case 'retry': {
      const e = event.event;
      if (e.type === 'attempt-failed') {
        // A failure that will not be retried is reported once, as the command's error.
        if (e.classification.kind === 'transient' || e.classification.kind === 'rate-limited')
          ui.err(`${ui.mark('warn')} ${humanText(e.message)}`);
      } else if (e.type === 'retry-scheduled') ui.err(`   ${humanText(e.message)}`);
      else if (e.type === 'succeeded' && e.attempts > 1) ui.err(`${ui.mark('ok')} ${humanText(e.message)}`);
      return;
    }
    case 'sync': {
      const e = event.event;
      if (e.type === 'entry-started')
        ui.progress(`${ui.mark('info')} Syncing: ${describe(e.entry)} (${shortId(e.entry.id)})`);
      else if (e.type === 'entry-retry' && e.event.type === 'retry-scheduled') {
        ui.progress(`${ui.mark('warn')} ${describe(e.entry)}: ${humanText(e.event.message)}`);
        if (!ui.tty) ui.err(`   ${describe(e.entry)}: ${humanText(e.event.message)}`);
      } else if (e.type === 'entry-done')
        ui.err(
          `${ui.mark('ok')} Completed: ${describe(e.entry)}${grantedAfterWaiting(e.entry) ? ' (it waited in line; your turn came, the lock is yours)' : ''}`,
        );
      else if (e.type === 'entry-failed')
        ui.err(
          `${ui.mark('fail')} Failed: ${describe(e.entry)} (${shortId(e.entry.id)}): ${entryReason(e.entry)}`,
        );
      else if (e.type === 'entry-deferred')
        ui.err(
          `${ui.mark('warn')} Still queued: ${describe(e.entry)} — ${e.entry.lastError?.code === 'WAITING' ? 'waiting in line for the lock (others are ahead), next look' : 'next try'} ${moment(e.until)}`,
        );
      else if (e.type === 'entry-expired')
        ui.err(
          `${ui.mark('warn')} Expired: ${describe(e.entry)} (${entryReason(e.entry, 'too old to run')})`,
        );
      else if (e.type === 'entry-held')
        ui.err(
          `${ui.mark('warn')} Waiting: ${describe(e.entry)} — the lock acquisition it depends on (${shortId(e.by)}) failed; retry or remove that entry first`,
        );
      else if (e.type === 'run-stopped') {
        const back = e.putBack.map(shortId);
        ui.err(
          `${ui.mark('warn')} ${
            e.reason === 'budget'
              ? 'The retry budget for this sync is spent; the rest stays queued.'
              : back.length === 0
                ? 'Sync cancelled; everything not yet done stays queued.'
                : `Sync cancelled; ${back.join(', ')} ${back.length === 1 ? 'stays' : 'stay'} queued.`
          }`,
        );
      }
      return;
    }
    case 'heartbeat': {
      const e = event.event;
      if (e.type === 'renewed')
        ui.err(`${ui.mark('ok')} Lock renewed until ${moment(e.grant.expiresAt, grantedNow(e.grant))}`);
      else if (e.type === 'jeopardy')
        ui.err(
          `${ui.mark('warn')} Renewal failed (${e.failures} in a row: ${humanText(errorText(e.error)).replace(/\.$/, '')}); the lease ends ${moment(e.leaseEndsAt)} unless a renewal gets through`,
        );
      else if (e.type === 'lost') ui.err(`${ui.mark('fail')} Lock lost: ${humanText(errorText(e.error))}`);
      return;
    }
    case 'transfer':
      renderTransfer(ui, event);
      return;
    case 'push-resume':
      ui.err(
        `${ui.mark('info')} Resuming the push: ${event.partsPresent} of ${event.partsTotal} parts already on the remote, ${partOfText(event.bytesPresent, event.bytesTotal)}; ${event.partsPresent === event.partsTotal ? 'only the branch is left to move' : 'the rest goes one part at a time'}.`,
      );
      return;
    case 'push-unresumable': {
      // Once per fact: a retried or resumed run of the same push tells it again.
      const key = JSON.stringify(event);
      if (unresumableTold.has(key)) return;
      unresumableTold.add(key);
      ui.err(`${ui.mark('warn')} ${unresumableWords(event)}`);
      return;
    }
    case 'guard':
      for (const line of guardLines(event.report)) ui.err(`${ui.mark(line.mark)} ${line.text}`);
      return;
    case 'auth-file-readable':
      ui.err(
        `${ui.mark('warn')} ${safeText(event.file)} holds your Oxen token and other users can read it (mode ${event.mode.toString(8)}); run: chmod 600 ${safeText(event.file)}`,
      );
      return;
    default:
      return;
  }
}

const unresumableTold = new Set<string>();

/** What cannot resume midway in a push, and how to avoid that next time. */
export function unresumableWords(
  fact: Omit<Extract<EngineEvent, { type: 'push-unresumable' }>, 'type'>,
): string {
  const budget = sizeText(fact.partBytes);
  if (fact.recorded) {
    const parts = fact.parts ?? [];
    return `${parts.length === 1 ? `Part ${parts[0]} of this take is` : `Parts ${parts.join(', ')} of this take are`} larger than its ${budget} part size (${sizeText(fact.bytes)}${parts.length === 1 ? '' : ' the largest'}): a push cut inside one sends it again from its start, as Oxen resumes only whole commits; next time keep single files under the part size (bounce or split them).`;
  }
  return `This push sends ${sizeText(fact.bytes)} in commits not recorded as parts: a push cut midway sends the commit it was in again from its start, as Oxen resumes only whole commits; next time record the take with \`oxenvcs commit -m "…" --part-size ${budget.replace(' ', '')}\` so a cut costs at most one part.`;
}

/** An error's message (a lock failure's in the CLI's words), or what it is when it has none. */
const errorText = (error: unknown) =>
  (typeof error === 'object' && error !== null ? lockErrorWords(error) : undefined) ??
  (error as Error | undefined)?.message ??
  String(error);

/** The verdict line after a sync's results (which are printed once, by `queue sync`). */
export function renderSummary(ui: Ui, summary: RunSummary): void {
  // An expired entry never ran: it is not synced, and waits for a retry or a remove as a failure does.
  if (summary.failed > 0 && summary.expired > 0)
    ui.err(
      `${ui.mark('fail')} Some operations failed and some expired before they could run; \`oxenvcs queue status\` shows why.`,
    );
  else if (summary.failed > 0)
    ui.err(`${ui.mark('fail')} Some operations failed; \`oxenvcs queue status\` shows why.`);
  else if (summary.expired > 0)
    ui.err(
      `${ui.mark('fail')} Some operations expired before they could run; \`oxenvcs queue status\` lists them, \`oxenvcs queue retry ID\` puts one back.`,
    );
  else if (summary.remaining === 0) ui.err(`${ui.mark('ok')} All operations synced successfully!`);
}

/**
 * The headline after a lease was granted again (a renewal, or acquiring a lock you held): whether
 * it was extended or shortened, judged against `before` (when the lease was to end, if known).
 */
export function renewedHeadline(
  expiresAt: string,
  before: number | undefined,
  alreadyHeld: boolean,
  now = Date.now(),
): string {
  const end = Date.parse(expiresAt);
  const held = alreadyHeld ? ' (you already held it)' : '';
  if (before === undefined) return `Lock renewed until ${moment(expiresAt, now)}${held}`;
  // A second of slack: the new lease is timed on the server's clock.
  if (end < before - 1000)
    return `Lock lease shortened to ${moment(expiresAt, now)}; ${alreadyHeld ? 'you already held it, until' : 'it was to end'} ${moment(before, now)}`;
  return `Lock extended until ${moment(expiresAt, now)}${held}`;
}

/**
 * The `now` to word a lease just granted or renewed against: the server's clock at that moment
 * (its `lastHeartbeat`, the ticket's commit time), on which its end is counted too. A local clock
 * a week off would say an hour's lease runs for a week, or ended days ago.
 */
export function grantedNow(lease: Lease): number {
  const at = Date.parse(lease.lastHeartbeat);
  return Number.isFinite(at) ? at : Date.now();
}

/** The lease block shown by acquire, renew and status. */
export function renderLease(ui: Ui, lease: Lease, now = Date.now()): void {
  const ended = Date.parse(lease.expiresAt) <= now;
  ui.out(`  Holder: ${safeText(lease.holder)}`);
  ui.out(`  Since: ${moment(lease.acquiredAt, now)}`);
  ui.out(`  ${ended ? 'Expired' : 'Expires'}: ${moment(lease.expiresAt, now, { ended: true })}`);
  if (lease.comment) ui.out(`  Comment: ${safeText(lease.comment)}`);
  ui.out(`  Fencing token: ${lease.fencingToken}`);
}

const MiB = 1024 * 1024;

const SIZE_UNITS = ['B', 'KB', 'MB', 'GB', 'TB'] as const;
const sizeExp = (bytes: number) => (bytes < 1000 ? 0 : Math.min(4, Math.floor(Math.log10(bytes) / 3)));

/** A size as people read a take's: decimal units, one decimal (`1.4 GB`, `200.0 MB`, `512 B`). */
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
let transferStart: { at: number; operation: string } | undefined;
let lastStep = -1;

/**
 * A push or pull's progress from oxen's own counts: a live bar on a terminal, a plain line every
 * 10 % when piped; rate and time left once the total is known.
 */
function renderTransfer(ui: Ui, event: Extract<EngineEvent, { type: 'transfer' }>): void {
  const p = event.progress;
  const now = Date.now();
  if (!transferStart || transferStart.operation !== event.operation) {
    transferStart = { at: now, operation: event.operation };
    lastStep = -1;
  }
  const seconds = Math.max(0.001, (now - transferStart.at) / 1000);
  const done = p.bytesDone ?? 0;
  const rate = done / seconds;
  const files =
    p.filesDone !== undefined
      ? ` ${p.filesDone}${p.filesTotal !== undefined ? `/${p.filesTotal}` : ''} files`
      : '';
  const verb = event.operation === 'push' ? 'Pushing' : 'Pulling';
  if (p.bytesTotal) {
    const fraction = Math.min(1, done / p.bytesTotal);
    const left = rate > 0 ? (p.bytesTotal - done) / rate : undefined;
    const eta = left !== undefined && fraction < 1 ? `, ${Math.ceil(left)} s left` : '';
    const line = `${verb}: ${(fraction * 100).toFixed(0)}% ${(done / MiB).toFixed(1)}/${(p.bytesTotal / MiB).toFixed(1)} MiB${files} at ${(rate / MiB).toFixed(1)} MiB/s${eta}`;
    if (ui.tty) {
      const width = 20;
      const filled = Math.round(fraction * width);
      ui.progress(`[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${line}`);
    } else {
      const step = Math.floor(fraction * 10);
      if (step > lastStep) {
        lastStep = step;
        ui.err(line);
      }
    }
    return;
  }
  const line = `${verb}: ${(done / MiB).toFixed(1)} MiB${files}`;
  if (ui.tty) ui.progress(line);
}

/**
 * How a lease's end reads: "until 12:55 (in 3m)", or, once it has ended but still counts as held
 * for `marginMs` (clocks may disagree by that much), "expired 2 s ago; treated as held for 3 s
 * more so clocks cannot disagree".
 */
export function leaseEndWords(expiresAt: string, now = Date.now(), marginMs = 0): string {
  const end = Date.parse(expiresAt);
  if (!(end <= now)) return `until ${moment(expiresAt, now)}`;
  const seconds = (ms: number) => `${Math.max(0, Math.round(ms / 1000))} s`;
  const left = end + marginMs - now;
  return left > 0
    ? `expired ${seconds(now - end)} ago; treated as held for ${seconds(left)} more so clocks cannot disagree`
    : `expired ${seconds(now - end)} ago`;
}

/** One line per lock state; `marginMs`: how long an ended lease still counts as held. */
export function describeState(state: LockState, now = Date.now(), marginMs = 0): string {
  const what = keyName(state.key);
  switch (state.state) {
    case 'unlocked':
      return `${what}: unlocked${state.lastHolder ? ` (last held by ${safeText(state.lastHolder)})` : ''}`;
    case 'held-by-you':
      return `${what}: locked by you ${leaseEndWords(state.lease.expiresAt, now, marginMs)}`;
    case 'held-by-other':
      return `${what}: locked by ${safeText(state.lease.holder)}${state.lease.key !== state.key ? ` (who holds ${state.lease.key === '.' ? 'the whole project' : safeText(state.lease.key)})` : ''} ${leaseEndWords(state.lease.expiresAt, now, marginMs)}${state.lease.comment ? ` ("${safeText(state.lease.comment)}")` : ''}${state.lease.keptAlive ? `; kept alive by a keep-alive, last renewed ${moment(state.lease.lastHeartbeat, now)}` : ''}`;
    case 'expired':
      return `${what}: expired ${moment(state.lease.expiresAt, now)}, was ${state.yours ? 'yours' : `held by ${safeText(state.lease.holder)}`}`;
    case 'broken':
      return `${what}: your lock was broken by ${safeText(state.brokenBy)} at ${moment(state.brokenAt, now)}${state.reason ? `: ${safeText(state.reason)}` : ''}`;
    case 'corrupt':
      return `${what}: the lock record on the remote is invalid${state.writtenBy ? ` (written by ${safeText(state.writtenBy)})` : ''}; replace it with \`oxenvcs lock break --force\``;
  }
}

/** JSON form of an entry (stable shape, see README). */
export function entryJson(entry: QueueEntry, describe: Describe) {
  return {
    id: entry.id,
    shortId: shortId(entry.id),
    status: entry.status,
    kind: entry.operation.kind,
    description: describe(entry),
    projectDir: entry.operation.projectDir,
    remote: entry.operation.remote,
    priority: entry.priority,
    attempts: entry.attempts,
    maxAttempts: entry.maxAttempts,
    enqueuedAt: entry.enqueuedAt,
    notBefore: entry.notBefore ?? null,
    expiresAt: entry.expiresAt ?? null,
    reason: entry.reason ?? null,
    statusReason: reasonWords(entry) ?? null,
    lastError: entry.lastError ?? null,
    idempotencyKey: entry.idempotencyKey,
  };
}
