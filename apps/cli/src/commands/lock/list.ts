import { Command } from 'clipanion';
import { BaseCommand, type Report } from '../../base.js';
import { describeState } from '../../render.js';

/** `oxenvcs lock list`. */
export class LockListCommand extends BaseCommand {
  static override paths = [['lock', 'list']];
  static override usage = Command.Usage({
    category: 'Locks',
    description: 'List every lock in the repository and its state.',
  });

  protected async run(): Promise<Report> {
    const engine = await this.engine();
    const locks = await engine.lockList();
    return {
      data: { locks },
      human: () => {
        if (locks.length === 0) this.ui.out('No locks are held in this repository.');
        for (const state of locks) this.ui.out(describeState(state));
      },
    };
  }
}
