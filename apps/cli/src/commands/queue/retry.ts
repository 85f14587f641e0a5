import { shortId } from '@oxvcs/engine';
import { Command, Option } from 'clipanion';
import { BaseCommand, type Report } from '../../base.js';
import { entryJson } from '../../render.js';

/** `oxenvcs queue retry <ID|PREFIX>`. */
export class QueueRetryCommand extends BaseCommand {
  static override paths = [['queue', 'retry']];
  static override usage = Command.Usage({
    category: 'Queue',
    description:
      'Put a failed or expired entry back in the queue with fresh attempts (by the id shown, the full id, or a unique prefix).',
  });

  id = Option.String({ name: 'ID|PREFIX' });

  protected override aboutEntry(): string | undefined {
    return this.id;
  }

  protected async run(): Promise<Report> {
    const engine = await this.engine();
    const entry = await engine.queueRetry(this.id);
    return {
      data: { entry: entryJson(entry, this.describe) },
      human: () =>
        this.ui.out(
          `${this.ui.mark('ok')} Requeued ${shortId(entry.id)}: ${this.describe(entry)} (run 'oxenvcs queue sync')`,
        ),
    };
  }
}
