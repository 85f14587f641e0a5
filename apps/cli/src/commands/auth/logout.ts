import { Command } from 'clipanion';
import { BaseCommand, type Report } from '../../base.js';

/** `oxenvcs auth logout`. */
export class AuthLogoutCommand extends BaseCommand {
  static override paths = [['auth', 'logout']];
  static override usage = Command.Usage({
    category: 'Auth',
    description: 'Remove the stored token for the remote’s host.',
  });

  protected async run(): Promise<Report> {
    const engine = await this.engine();
    const { host, removed } = await engine.authLogout();
    return {
      data: { host, removed },
      human: () =>
        this.ui.out(
          removed
            ? `${this.ui.mark('ok')} Token for ${host} removed`
            : `${this.ui.mark('info')} No token was stored for ${host}`,
        ),
    };
  }
}
