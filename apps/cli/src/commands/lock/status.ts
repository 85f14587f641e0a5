import { shortId } from '@oxvcs/engine';
import { Command } from 'clipanion';
import { BaseCommand, type Report } from '../../base.js';
import { GUARD_HELP, guardStatusLine } from '../../guard-words.js';
import { ago, humanText, moment, safeText } from '../../output.js';
import { connectivityWords, describeState, keyName, renderLease } from '../../render.js';
import { waiterLine } from '../../waiting.js';

/** `oxenvcs lock status`. */
export class LockStatusCommand extends BaseCommand {
  static override paths = [['lock', 'status']];
  static override usage = Command.Usage({
    category: 'Locks',
    description: 'Show who holds the project lock (read from the remote; the last known state when offline).',
    details: `
      ${GUARD_HELP}
    `,
  });

  protected async run(): Promise<Report> {
    const engine = await this.engine();
    const report = await engine.lockStatus({ markSeen: !this.json });
    const { project, connectivity, state, cached, heartbeat, queued, lastKnown } = report;
    // Leases are judged on the server's clock: the margin is said on it too.
    const now = Date.now();
    const serverNow = report.serverNow ?? now;
    return {
      data: {
        project: { root: project.root, key: project.key, remote: project.remote.url, holder: project.holder },
        connectivity: { state: connectivity.state, reason: connectivityWords(connectivity.reason) },
        lock: state ?? null,
        cached: cached ?? null,
        lastKnown: lastKnown ?? null,
        brokenNews: report.brokenNews ?? null,
        heartbeat: heartbeat ?? null,
        // Whether the read-only guard is on, what it keeps read-only, and what it did just now.
        guard: report.guard ? { ...report.guard, change: this.guardReport ?? null } : null,
        queued: queued.map((e) => ({
          id: e.id,
          shortId: shortId(e.id),
          kind: e.operation.kind,
          status: e.status,
        })),
      },
      human: () => {
        const ui = this.ui;
        ui.out(
          `Project: ${safeText(project.root)}${project.key === '.' ? '' : ` (${safeText(project.key)})`}`,
        );
        ui.out(`Remote: ${safeText(project.remote.url)} (${connectivity.state})`);
        if (!state) {
          ui.out(`${ui.mark('warn')} Offline: showing what this machine last knew.`);
          if (lastKnown)
            ui.out(
              `  Last read from the remote ${ago(lastKnown.at, now)}: ${describeState(lastKnown.state, now)}`,
            );
          // Our own grant note: a lease that has not ended by it is still ours (nothing says otherwise).
          if (cached)
            ui.out(
              Date.parse(cached.expiresAt) > now
                ? `  You hold it until ${moment(cached.expiresAt, now)} by this machine's last note (fencing token ${cached.fencingToken}); the remote confirms it when you are back online.`
                : `  Your lease ended ${moment(cached.expiresAt, now)} (fencing token ${cached.fencingToken}).`,
            );
          if (!lastKnown && !cached) ui.out('  No lock recorded on this machine.');
        } else {
          const news = report.brokenNews;
          // Said once, whatever happened since (the breaker took the lock, released it…).
          if (news && state.state !== 'broken')
            ui.out(
              `${ui.mark('fail')} Your lock on ${keyName(state.key)} was broken by ${safeText(news.by)} at ${moment(news.at, serverNow)}${news.reason ? `: ${safeText(news.reason)}` : ''}`,
            );
          const mark = state.state === 'held-by-you' ? 'ok' : state.state === 'unlocked' ? 'info' : 'warn';
          ui.out(`${ui.mark(mark)} ${describeState(state, serverNow, report.expiryMarginMs)}`);
          if (state.state === 'held-by-you' || state.state === 'held-by-other' || state.state === 'expired')
            renderLease(ui, state.lease, serverNow);
          // The line: who waits for this lock (or an overlapping one), first first.
          for (const w of state.waiters ?? [])
            ui.out(`  ${waiterLine(w, { holder: project.holder, machineId: project.machineId })}`);
          // This machine held a lease that has not run out, and someone else holds the lock now:
          // it was broken (and taken at once), which the table no longer says.
          if (state.state === 'held-by-other' && cached && Date.parse(cached.expiresAt) > serverNow)
            ui.out(
              `${ui.mark('fail')} You held this lock until ${moment(cached.expiresAt)} (fencing token ${cached.fencingToken}); ${safeText(state.lease.holder)} holds it now, so your lease was broken: do not edit the project until you hold the lock again.`,
            );
        }
        if (heartbeat) {
          const health =
            heartbeat.state === 'jeopardy'
              ? `in jeopardy (${heartbeat.failures} failed renewals)`
              : heartbeat.state;
          const next =
            heartbeat.state === 'healthy' && heartbeat.nextRenewalAt
              ? `, next renewal ${moment(heartbeat.nextRenewalAt)}`
              : '';
          ui.out(
            `  Heartbeat: ${health} (pid ${heartbeat.pid}, updated ${moment(heartbeat.updatedAt)}${next})`,
          );
          if (heartbeat.state === 'lost' && heartbeat.reason)
            ui.out(`  Keep-alive stopped: ${humanText(heartbeat.reason)}`);
        }
        for (const e of queued) ui.out(`  Queued: ${this.describe(e)} [${e.status}] ${shortId(e.id)}`);
        const guardLine = guardStatusLine(
          report.guard,
          state ? state.state === 'held-by-you' : !!cached && Date.parse(cached.expiresAt) > now,
        );
        if (guardLine) ui.out(`  ${guardLine}`);
      },
    };
  }
}
