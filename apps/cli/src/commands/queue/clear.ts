import { Command, Option } from 'clipanion';
import { BaseCommand, type Report } from '../../base.js';

/** `oxenvcs queue clear [--all]`. */
export class QueueClearCommand extends BaseCommand {
  static override paths = [['queue', 'clear']];
  static override usage = Command.Usage({
    category: 'Queue',
    description:
      'Remove completed (and superseded) entries; with --all, every entry including pending and failed ones.',
  });

  all = Option.Boolean('--all', false, { description: 'Remove everything, pending included' });

  protected async run(): Promise<Report> {
    const engine = await this.engine();
    const cleared = await engine.queueClear({ all: this.all });
    return {
      data: { cleared, all: this.all },
      human: () =>
        this.ui.out(
          `${this.ui.mark('ok')} Cleared ${cleared} ${this.all ? 'total' : 'completed'} operation(s)`,
        ),
    };
  }
}
