import { Command } from 'clipanion';
import { BaseCommand, type Report } from '../../base.js';

/** `oxenvcs auth status`. */
export class AuthStatusCommand extends BaseCommand {
  static override paths = [['auth', 'status']];
  static override usage = Command.Usage({
    category: 'Auth',
    description: 'Show whether a token is stored for the remote’s host and whether the remote accepts it.',
  });

  protected async run(): Promise<Report> {
    const engine = await this.engine();
    const s = await engine.authStatus();
    return {
      data: {
        host: s.host,
        hasToken: s.hasToken,
        file: s.file,
        readableByOthers: s.readableByOthers !== undefined,
        authenticated: s.authenticated ?? null,
        connectivity: s.connectivity?.state ?? null,
      },
      human: () => {
        this.ui.out(`Host: ${s.host}`);
        this.ui.out(`Token: ${s.hasToken ? 'stored' : 'none'} (${s.file})`);
        if (s.authenticated === undefined)
          this.ui.out(`Remote: ${s.connectivity?.state ?? 'unknown'} (not checked)`);
        else
          this.ui.out(
            s.authenticated
              ? s.hasToken
                ? `${this.ui.mark('ok')} The remote accepts the token`
                : `${this.ui.mark('ok')} The remote answers without a token (none is needed here)`
              : `${this.ui.mark('fail')} The remote refused; run 'oxenvcs auth login'`,
          );
      },
    };
  }
}
