import { shortId } from '@oxvcs/engine';
import { Command, Option } from 'clipanion';
import { BaseCommand, type Report } from '../../base.js';
import { entryJson } from '../../render.js';

/** `oxenvcs queue remove <ID|PREFIX>`. */
export class QueueRemoveCommand extends BaseCommand {
  static override paths = [['queue', 'remove']];
  static override usage = Command.Usage({
    category: 'Queue',
    description:
      'Remove one entry by the id shown in `queue status`, its full id, or a unique prefix (one too short to tell entries apart is refused).',
    details:
      'Exit codes: 0 removed; 2 no entry matched, the id is ambiguous (the candidates are listed), or a prefix is too short.',
  });

  id = Option.String({ name: 'ID|PREFIX' });

  protected override aboutEntry(): string | undefined {
    return this.id;
  }

  protected async run(): Promise<Report> {
    const engine = await this.engine();
    const removed = await engine.queueRemove(this.id);
    return {
      data: { removed: entryJson(removed, this.describe) },
      human: () =>
        this.ui.out(`${this.ui.mark('ok')} Removed ${shortId(removed.id)}: ${this.describe(removed)}`),
    };
  }
}
