import { Command, Option, UsageError } from 'clipanion';
import { BaseCommand, type Report } from '../../base.js';
import { describeState } from '../../render.js';

/** `oxenvcs lock break --force`. */
export class LockBreakCommand extends BaseCommand {
  static override paths = [['lock', 'break']];
  static override usage = Command.Usage({
    category: 'Locks',
    description: 'Break someone’s lock (recorded with who and why; the holder sees it). Needs the network.',
    details:
      'Without --force only a lapsed lease can be broken. Exit codes: 0 broken or already free; 3 live lock without --force; 1 failure.',
    examples: [['Break a forgotten lock', 'oxenvcs lock break --force --reason "Ada is on holiday"']],
  });

  force = Option.Boolean('--force', false, { description: 'Break even a live lease' });
  reason = Option.String('--reason', { description: 'Why (shown to the previous holder)' });

  protected async run(): Promise<Report> {
    if (this.reason !== undefined && this.reason.trim() === '')
      throw new UsageError('--reason must not be empty');
    const engine = await this.engine();
    const { broken, previous } = await engine.lockBreak({
      force: this.force,
      ...(this.reason ? { reason: this.reason } : {}),
    });
    return {
      data: { broken, previous },
      human: () =>
        this.ui.out(
          broken
            ? `${this.ui.mark('ok')} Lock broken (was: ${describeState(previous)})`
            : `${this.ui.mark('info')} Nothing to break: ${describeState(previous)}`,
        ),
    };
  }
}
