import { Command, Option } from 'clipanion';
import { BaseCommand, type Report } from '../../base.js';

/** `oxenvcs queue clear [--all]`. */
export class QueueClearCommand extends BaseCommand {
  static override paths = [['queue', 'clear']];
  static override usage = Command.Usage({
    category: 'Queue',
    description:
      'Remove completed (and superseded) entries of the current project (--all-projects: every project); with --all, every entry including pending and failed ones.',
  });

  all = Option.Boolean('--all', false, { description: 'Remove everything, pending included' });
  allProjects = Option.Boolean('--all-projects', false, {
    description: 'Every project in the queue, not only the current one (works outside any project)',
  });

  protected async run(): Promise<Report> {
    const engine = await this.engine();
    const cleared = await engine.queueClear({ all: this.all, allProjects: this.allProjects });
    return {
      data: { cleared, all: this.all },
      human: () =>
        this.ui.out(
          `${this.ui.mark('ok')} Cleared ${cleared} ${this.all ? 'total' : 'completed'} operation(s)`,
        ),
    };
  }
}
