import { shortId, type TakeRecord } from '@oxvcs/engine';
import { Command, Option } from 'clipanion';
import { BaseCommand, type Report } from '../../base.js';
import { ago, moment } from '../../output.js';
import { entryJson, entryReason, partOfText, sizeText } from '../../render.js';

/** Pending entries listed by default: a page a person reads; `--all` and `--json` list every one. */
const PAGE = 50;

type Take = TakeRecord;
const takeBytes = (take: Take) => take.parts.reduce((n, p) => n + p.bytes, 0);

/** A recorded take whose push stopped partway: how much of it is on the remote, as far as known. */
function takeLine(take: Take): string {
  const on = take.onRemote;
  if (!on)
    return `A take of ${take.parts.length} parts (${sizeText(takeBytes(take))}), its push stopped before the end: parts already on the remote are skipped when it runs again`;
  return `push: ${on.parts} of ${take.parts.length} parts on the remote (at least), ${partOfText(on.bytes, takeBytes(take))}; the rest is sent when it runs again (a part cut midway from its start)`;
}

/** The same, for `--json`. */
const takeJson = (take: Take) => ({
  parts: take.parts.length,
  bytes: takeBytes(take),
  ...(take.onRemote
    ? { partsOnRemote: take.onRemote.parts, bytesOnRemote: take.onRemote.bytes, checkedAt: take.onRemote.at }
    : {}),
});

/** `oxenvcs queue status`. */
export class QueueStatusCommand extends BaseCommand {
  static override paths = [['queue', 'status']];
  static override usage = Command.Usage({
    category: 'Queue',
    description:
      'List the current project’s queued operations (--all-projects: every project): pending in the order they will run, then failed ones with their reason.',
  });

  allProjects = Option.Boolean('--all-projects', false, {
    description: 'Every project in the queue, not only the current one (works outside any project)',
  });
  all = Option.Boolean('--all', false, {
    description: `List every pending entry, not only the first ${PAGE} (--json always lists every one)`,
  });

  // Looking at the queue is looking: what it lists is not told again as missed (see below).
  protected override tellsAwayFirst = false;

  protected async run(): Promise<Report> {
    const engine = await this.engine();
    const { stats, entries, scope, others, omitted } = await engine.queueStatus({
      allProjects: this.allProjects,
      ...(this.json || this.all ? {} : { limit: PAGE }),
    });
    // Failures it lists below are seen now; others (another project's, expired ones, which are
    // only counted, or those past the page) are told as for any command.
    await this.tellAway(engine, new Set(entries.filter((e) => e.status === 'failed').map((e) => e.id)));
    const describe = this.describe;
    // Loaded with the engine already. A running entry whose process is gone (killed, or stopped
    // before it could put the entry back) is not running: the next sync checks, then replays it.
    const { isRunning, loadTake } = await import('../../engine.js');
    /**
     * A push tried before (it did not finish) of a project whose last take is not on the remote
     * yet (a take pushed whole is not what a later push sends), as the TUI reads it.
     */
    const partlyPushed = (e: (typeof entries)[number]) => {
      if (e.operation.kind !== 'push' || !(e.verifyFirst || e.attempts > 0)) return undefined;
      const take = loadTake(e.operation.projectDir, e.operation.branch);
      return take?.pushed ? undefined : take;
    };
    const runningMark = (e: (typeof entries)[number]) =>
      e.runner && !isRunning(e.runner)
        ? ' [interrupted: the next sync checks the remote, then replays it]'
        : ' [running]';
    return {
      data: {
        stats,
        scope: scope === 'all' ? 'all' : { projectDir: scope.projectDir },
        otherProjects: others,
        // Shaped only when `--json` prints it (1,000 entries are not free to shape).
        get entries() {
          return entries.map((e) => {
            const take = partlyPushed(e);
            return { ...entryJson(e, describe), ...(take ? { take: takeJson(take) } : {}) };
          });
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
        if (others > 0)
          ui.out(`  (${others} more unfinished in other projects: oxenvcs queue status --all-projects)`);
        if (stats.expired + stats.superseded > 0)
          ui.out(`  Expired: ${stats.expired}  Superseded: ${stats.superseded}`);
        const waiting = entries.filter((e) => e.status === 'pending' || e.status === 'running');
        const failed = entries.filter((e) => e.status === 'failed');
        const now = Date.now();
        waiting.forEach((e, i) => {
          ui.out('');
          ui.out(
            `  ${i + 1}. ${describe(e)} (${ago(e.enqueuedAt, now)})${e.status === 'running' ? runningMark(e) : ''}`,
          );
          ui.out(
            `     ID: ${shortId(e.id)} | Priority: ${e.priority} | Attempts: ${e.attempts}/${e.maxAttempts}`,
          );
          if (e.notBefore && Date.parse(e.notBefore) > now)
            ui.out(`     Next try after ${moment(e.notBefore, now)}`);
          if (e.reason) ui.out(`     ${entryReason(e, '', now)}`);
          const take = partlyPushed(e);
          if (take) ui.out(`     ${takeLine(take)}`);
        });
        if (failed.length > 0) {
          ui.out('');
          ui.out('  Failed (kept until you retry or remove them):');
          for (const e of failed) {
            ui.out(`  ${ui.mark('fail')} ${shortId(e.id)} ${describe(e)}: ${entryReason(e, 'failed', now)}`);
          }
          if (stats.failed > failed.length)
            ui.out(
              `  … and ${stats.failed - failed.length} more failed (\`oxenvcs queue status --all\` lists every one)`,
            );
        }
        if (omitted > 0) {
          ui.out('');
          ui.out(`  … and ${omitted} more pending (\`oxenvcs queue status --all\` lists every one)`);
        }
        ui.out('');
        if (waiting.length > 0) ui.out("  Use 'oxenvcs queue sync' to sync pending operations");
        else if (stats.total === 0) ui.out('  The queue is empty.');
      },
    };
  }
}
