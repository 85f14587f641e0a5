import { Command } from 'clipanion';
import { BaseCommand, type Report } from '../../base.js';
import { ago, shortId, when } from '../../output.js';
import { entryJson } from '../../render.js';

/** `oxenvcs queue status`. */
export class QueueStatusCommand extends BaseCommand {
  static override paths = [['queue', 'status']];
  static override usage = Command.Usage({
    category: 'Queue',
    description:
      'List queued operations: pending in the order they will run, then failed ones with their reason.',
  });

  protected async run(): Promise<Report> {
    const engine = await this.engine();
    const { stats, entries } = await engine.queueStatus();
    const describe = this.describe;
    return {
      data: {
        stats,
        // Shaped only when `--json` prints it (1,000 entries are not free to shape).
        get entries() {
          return entries.map((e) => entryJson(e, describe));
        },
      },
      human: () => {
        const ui = this.ui;
        ui.out('Offline Operation Queue');
        ui.out('='.repeat(50));
        ui.out('');
        ui.out(`  Pending: ${stats.pending + stats.running}`);
        ui.out(`  Completed: ${stats.done}`);
        ui.out(`  Failed: ${stats.failed}`);
        if (stats.expired + stats.superseded > 0)
          ui.out(`  Expired: ${stats.expired}  Superseded: ${stats.superseded}`);
        const waiting = entries.filter((e) => e.status === 'pending' || e.status === 'running');
        const failed = entries.filter((e) => e.status === 'failed');
        const now = Date.now();
        waiting.forEach((e, i) => {
          ui.out('');
          ui.out(
            `  ${i + 1}. ${describe(e)} (${ago(e.enqueuedAt, now)})${e.status === 'running' ? ' [running]' : ''}`,
          );
          ui.out(
            `     ID: ${shortId(e.id)} | Priority: ${e.priority} | Attempts: ${e.attempts}/${e.maxAttempts}`,
          );
          if (e.notBefore && Date.parse(e.notBefore) > now)
            ui.out(`     Next try after ${when(e.notBefore)}`);
          if (e.statusReason) ui.out(`     ${e.statusReason}`);
        });
        if (failed.length > 0) {
          ui.out('');
          ui.out('  Failed (kept until you retry or remove them):');
          for (const e of failed) {
            ui.out(
              `  ${ui.mark('fail')} ${shortId(e.id)} ${describe(e)}: ${e.statusReason ?? e.lastError?.message ?? 'failed'}`,
            );
          }
        }
        ui.out('');
        if (waiting.length > 0) ui.out("  Use 'oxenvcs queue sync' to sync pending operations");
        else if (stats.total === 0) ui.out('  The queue is empty.');
      },
    };
  }
}
