import { Command, Option } from 'clipanion';
import { BaseCommand, type Report } from '../base.js';
import { EXIT, shortId } from '../output.js';

abstract class TransferCommand extends BaseCommand {
  branch = Option.String({ required: false, name: 'BRANCH' });
  protected abstract readonly verb: 'push' | 'pull';

  protected async run(): Promise<Report> {
    const engine = await this.engine();
    const outcome = this.verb === 'push' ? await engine.push(this.branch) : await engine.pull(this.branch);
    if (outcome.status === 'queued') {
      // The same transfer queued just before: that entry does it, once.
      const same = outcome.enqueued === 'collapsed' ? outcome.entry.supersededBy : undefined;
      const id = same ?? outcome.entry.id;
      return {
        exitCode: EXIT.QUEUED,
        data: {
          status: 'queued',
          reason: outcome.reason,
          entry: { id, shortId: shortId(id) },
          ...(same ? { sameAsQueued: true } : {}),
        },
        human: () => {
          this.renderQueued(
            same ? { ...outcome.entry, id } : outcome.entry,
            outcome.reason,
            same ? [`Already queued: this ${this.verb} runs once when the network returns`] : [],
          );
          this.ui.err(`${this.ui.mark('info')} Use 'oxenvcs queue sync' to retry manually`);
        },
      };
    }
    return {
      data: { status: 'done', result: outcome.result },
      human: () =>
        this.ui.out(
          outcome.result.upToDate
            ? `${this.ui.mark('ok')} Everything is up to date`
            : `${this.ui.mark('ok')} ${this.verb === 'push' ? 'Pushed' : 'Pulled'} successfully`,
        ),
    };
  }
}

/** `oxenvcs push [BRANCH]`. */
export class PushCommand extends TransferCommand {
  static override paths = [['push']];
  static override usage = Command.Usage({
    category: 'Transfer',
    description:
      'Push a branch (default: the current one) through oxen; queued when offline. Refuses while someone else holds the lock, or under a lock you no longer hold.',
    details: 'Exit codes: 0 pushed; 75 queued; 3 someone else holds the lock; 1 failure.',
  });
  protected readonly verb = 'push' as const;
}

/** `oxenvcs pull [BRANCH]`. */
export class PullCommand extends TransferCommand {
  static override paths = [['pull']];
  static override usage = Command.Usage({
    category: 'Transfer',
    description: 'Pull a branch (default: the current one) through oxen; queued when offline.',
    details: 'Exit codes: 0 pulled; 75 queued; 1 failure.',
  });
  protected readonly verb = 'pull' as const;
}
