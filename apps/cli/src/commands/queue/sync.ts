import type { EngineEvent, QueueEntry } from '@oxvcs/engine';
import { shortId } from '@oxvcs/engine';
import { Command, Option } from 'clipanion';
import { BaseCommand, type Report } from '../../base.js';
import { EXIT, humanText, moment } from '../../output.js';
import { connectivityWords, entryJson, renderSummary } from '../../render.js';

/** `oxenvcs queue sync`. */
export class QueueSyncCommand extends BaseCommand {
  static override paths = [['queue', 'sync']];
  static override usage = Command.Usage({
    category: 'Queue',
    description:
      'Replay pending operations now: each project in the order its operations were queued (priority orders projects); the current project only, unless --all-projects.',
    details:
      'Exit codes: 0 all synced; 75 still offline or some operations wait for later; 1 some operations failed or expired.',
  });

  allProjects = Option.Boolean('--all-projects', false, {
    description: 'Every project in the queue, not only the current one (works outside any project)',
  });

  dryRun = Option.Boolean('--dry-run', false, {
    description: 'Show what would run, in order, without running anything',
  });

  /** Entries started and not finished in this run: what Ctrl-C puts back. */
  readonly #running = new Map<string, QueueEntry>();
  readonly #controller = new AbortController();

  protected override observe(event: EngineEvent): boolean {
    if (event.type !== 'sync') return false;
    const e = event.event;
    if (e.type === 'entry-started') this.#running.set(e.entry.id, e.entry);
    else if (e.type === 'entry-done' || e.type === 'entry-failed' || e.type === 'entry-deferred')
      this.#running.delete(e.entry.id);
    // Ctrl-C's stop is said once, with the results (see `interruptedLine`).
    else if (e.type === 'run-stopped' && e.reason === 'aborted' && this.#controller.signal.aborted)
      return true;
    return false;
  }

  /** What Ctrl-C stopped, in one line. */
  private interruptedLine(): string {
    const back = [...this.#running.values()];
    if (back.length === 0) return 'Interrupted: nothing was running; what was not done yet stays queued.';
    const what = back.map((e) => `${this.describe(e)} (${shortId(e.id)})`).join(', ');
    return back.length === 1
      ? `Interrupted: ${what} was put back in the queue; the remote is checked before it runs again.`
      : `Interrupted: ${what} were put back in the queue; the remote is checked before they run again.`;
  }

  protected async run(): Promise<Report> {
    const engine = await this.engine();
    const controller = this.#controller;
    // Ctrl-C stops the run: what runs is put back and the results are printed. A listener that
    // stays (not `once`) also tells the oxen adapter, which kills a running transfer on the same
    // signal, that we handle it: otherwise it ends the process itself, before anything is put back.
    // A second Ctrl-C ends the process at once.
    const stop = () => {
      if (!controller.signal.aborted) return controller.abort();
      process.off('SIGINT', stop);
      process.kill(process.pid, 'SIGINT');
    };
    process.on('SIGINT', stop);
    try {
      const report = await engine.sync({
        dryRun: this.dryRun,
        signal: controller.signal,
        allProjects: this.allProjects,
      });
      // Absent when no single remote was checked (a sync of every project).
      const conn = report.connectivity
        ? { state: report.connectivity.state, reason: connectivityWords(report.connectivity.reason) }
        : { state: 'unknown' as const, reason: 'no single remote was checked' };
      if (report.preview) {
        const preview = report.preview;
        return {
          data: {
            dryRun: true,
            connectivity: { state: conn.state, reason: conn.reason },
            steps: preview.map((s) => ({
              action: s.action,
              detail: s.detail ?? null,
              entry: entryJson(s.entry, this.describe),
            })),
          },
          human: () => {
            this.ui.out(`Dry run (network is ${conn.state}): ${preview.length} step(s)`);
            preview.forEach((s, i) => {
              const what = {
                run: 'would run',
                expire: 'would expire',
                held: 'would wait (its lock acquisition failed)',
                wait: `would wait${s.detail ? ` until ${moment(s.detail)}` : ''}`,
              }[s.action];
              this.ui.out(`  ${i + 1}. ${this.describe(s.entry)} (${shortId(s.entry.id)}): ${what}`);
            });
          },
        };
      }
      if (!report.summary) {
        return {
          exitCode: EXIT.QUEUED,
          data: { connectivity: { state: conn.state, reason: conn.reason }, summary: null },
          human: () =>
            this.ui.err(
              `${this.ui.mark('warn')} Network is offline (${humanText(conn.reason).replace(/\.+$/, '')}); everything stays queued.`,
            ),
        };
      }
      const summary = report.summary;
      const exitCode =
        // An expired entry did not run: as a failure, it waits for a retry or a remove.
        summary.failed > 0 || summary.expired > 0
          ? EXIT.FAILURE
          : summary.remaining > 0 || controller.signal.aborted
            ? EXIT.QUEUED
            : EXIT.OK;
      return {
        exitCode,
        data: { connectivity: { state: conn.state, reason: conn.reason }, summary },
        human: () => {
          this.ui.out('Sync Results');
          this.ui.out('='.repeat(50));
          this.ui.out(`  Succeeded: ${summary.done}`);
          this.ui.out(`  Failed: ${summary.failed}`);
          this.ui.out(`  Still queued: ${summary.remaining}`);
          if (summary.expired) this.ui.out(`  Expired: ${summary.expired}`);
          renderSummary(this.ui, summary);
          if (controller.signal.aborted) this.ui.err(`${this.ui.mark('warn')} ${this.interruptedLine()}`);
        },
      };
    } finally {
      process.off('SIGINT', stop);
    }
  }
}
