import type { EngineEvent, Lease, LockState, QueueEntry, RunSummary } from '@oxvcs/engine';
import { ago, shortId, span, type Ui, when } from './output.js';

/** A short description of an entry (the engine's own `describeOperation`, loaded with the engine). */
export type Describe = (entry: QueueEntry) => string;

/** Renders engine events as they happen (stderr), in the original tool's wording. */
export function renderEvent(ui: Ui, event: EngineEvent, describe: Describe): void {
  if (ui.json && !ui.verbose) return;
  switch (event.type) {
    case 'connectivity':
      if (ui.verbose) ui.err(`${ui.mark('info')} Network is ${event.result.state}: ${event.result.reason}`);
      return;
    case 'auto-sync':
      ui.err(`[Auto-syncing ${event.pending} pending operation(s)...]`);
      return;
    case 'retry': {
      const e = event.event;
      if (e.type === 'attempt-failed') {
        // A failure that will not be retried is reported once, as the command's error.
        if (e.classification.kind === 'transient' || e.classification.kind === 'rate-limited')
          ui.err(`${ui.mark('warn')} ${e.message}`);
      } else if (e.type === 'retry-scheduled') ui.err(`   ${e.message}`);
      else if (e.type === 'succeeded' && e.attempts > 1) ui.err(`${ui.mark('ok')} ${e.message}`);
      return;
    }
    case 'sync': {
      const e = event.event;
      if (e.type === 'entry-started')
        ui.progress(`${ui.mark('info')} Syncing: ${describe(e.entry)} (${shortId(e.entry.id)})`);
      else if (e.type === 'entry-retry' && e.event.type === 'retry-scheduled') {
        ui.progress(`${ui.mark('warn')} ${describe(e.entry)}: ${e.event.message}`);
        if (!ui.tty) ui.err(`   ${describe(e.entry)}: ${e.event.message}`);
      } else if (e.type === 'entry-done') ui.err(`${ui.mark('ok')} Completed: ${describe(e.entry)}`);
      else if (e.type === 'entry-failed')
        ui.err(`${ui.mark('fail')} Failed: ${describe(e.entry)} (${shortId(e.entry.id)}): ${e.reason}`);
      else if (e.type === 'entry-deferred')
        ui.err(`${ui.mark('warn')} Still queued: ${describe(e.entry)} — next try after ${when(e.until)}`);
      else if (e.type === 'entry-expired')
        ui.err(
          `${ui.mark('warn')} Expired: ${describe(e.entry)} (${e.entry.statusReason ?? 'too old to run'})`,
        );
      else if (e.type === 'entry-held')
        ui.err(`${ui.mark('warn')} Waiting: ${describe(e.entry)} — ${e.reason}`);
      else if (e.type === 'run-stopped') ui.err(`${ui.mark('warn')} ${e.message}`);
      return;
    }
    case 'heartbeat': {
      const e = event.event;
      if (e.type === 'renewed') ui.err(`${ui.mark('ok')} Lock renewed until ${when(e.grant.expiresAt)}`);
      else if (e.type === 'jeopardy')
        ui.err(
          `${ui.mark('warn')} Renewal failed (${e.failures}); the lease ends at ${when(e.leaseEndsAt)} unless a renewal gets through`,
        );
      else if (e.type === 'lost')
        ui.err(`${ui.mark('fail')} Lock lost: ${(e.error as Error).message ?? String(e.error)}`);
      return;
    }
    case 'auth-file-readable':
      ui.err(
        `${ui.mark('warn')} ${event.file} holds your Oxen token and other users can read it (mode ${event.mode.toString(8)}); run: chmod 600 ${event.file}`,
      );
      return;
    default:
      return;
  }
}

/** Summary line of a sync. */
export function renderSummary(ui: Ui, summary: RunSummary): void {
  if (summary.failed === 0 && summary.remaining === 0)
    ui.err(`${ui.mark('ok')} All operations synced successfully!`);
  else {
    ui.err(`  Succeeded: ${summary.done}  Failed: ${summary.failed}  Still queued: ${summary.remaining}`);
  }
}

/** The lease block shown by acquire, renew and status. */
export function renderLease(ui: Ui, lease: Lease, now = Date.now()): void {
  ui.out(`  Holder: ${lease.holder}`);
  ui.out(`  Since: ${when(lease.acquiredAt)} (${ago(lease.acquiredAt, now)})`);
  ui.out(`  Expires: ${when(lease.expiresAt)} (in ${span(Date.parse(lease.expiresAt) - now)})`);
  if (lease.comment) ui.out(`  Comment: ${lease.comment}`);
  ui.out(`  Fencing token: ${lease.fencingToken}`);
}

/** One line per lock state. */
export function describeState(state: LockState): string {
  const what = state.key === '.' ? 'project' : state.key;
  switch (state.state) {
    case 'unlocked':
      return `${what}: unlocked${state.lastHolder ? ` (last held by ${state.lastHolder})` : ''}`;
    case 'held-by-you':
      return `${what}: locked by you until ${when(state.lease.expiresAt)}`;
    case 'held-by-other':
      return `${what}: locked by ${state.lease.holder} until ${when(state.lease.expiresAt)}${state.lease.comment ? ` ("${state.lease.comment}")` : ''}`;
    case 'expired':
      return `${what}: expired (was ${state.yours ? 'yours' : `held by ${state.lease.holder}`}, lapsed ${when(state.lease.expiresAt)})`;
    case 'broken':
      return `${what}: your lock was broken by ${state.brokenBy}${state.reason ? `: ${state.reason}` : ''}`;
    case 'corrupt':
      return `${what}: the lock record on the remote is invalid${state.writtenBy ? ` (written by ${state.writtenBy})` : ''}; replace it with \`oxenvcs lock break --force\``;
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
    statusReason: entry.statusReason ?? null,
    lastError: entry.lastError ?? null,
    idempotencyKey: entry.idempotencyKey,
  };
}
