import type { Engine } from '@oxvcs/engine';
import { Command, Option } from 'clipanion';
import { BaseCommand, parseHours, type Report, TIMEOUT_RANGE } from '../../base.js';
import { EXIT, humanText } from '../../output.js';
import { lockName } from '../../waiting.js';

/** `oxenvcs lock heartbeat`: renew in the foreground until interrupted. */
export class LockHeartbeatCommand extends BaseCommand {
  static override paths = [['lock', 'heartbeat']];
  static override usage = Command.Usage({
    category: 'Locks',
    description: 'Stay in the foreground renewing your lock (at about a third of its lease) until Ctrl-C.',
    details:
      'Exit codes: 0 stopped by you; 1 the lock was lost (taken over, broken, or the lease ran out while offline).',
  });

  stop = Option.Boolean('--stop', false, {
    description: 'Stop the background keep-alive of this lock (started by lock acquire --keep-alive)',
  });

  timeout = Option.String('--timeout', {
    description: `Lease length for each renewal, in ${TIMEOUT_RANGE} (default: the current one)`,
  });

  /** A desktop notification that the keep-alive lost the lock (broken, taken over, lapsed), with why. */
  private async notifyLost(engine: Engine): Promise<void> {
    const p = engine.project();
    const reason = (await engine.keepAlive()).note?.reason;
    await engine.notify(
      'Lock lost: stop editing',
      `${lockName(p)} is no longer yours${reason ? `: ${humanText(reason)}` : ''}`,
    );
  }

  protected async run(): Promise<Report> {
    const hours = parseHours(this.timeout);
    const engine = await this.engine();
    if (this.stop) {
      const result = await engine.stopKeepAlive();
      return {
        data: { stopped: result.stopped, ...(result.pid ? { pid: result.pid } : {}) },
        human: () =>
          this.ui.out(
            result.stopped
              ? `${this.ui.mark('ok')} Keep-alive stopped (pid ${result.pid}); the lock stays yours until it expires.`
              : 'No keep-alive runs for this lock.',
          ),
      };
    }
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    process.once('SIGHUP', stop);
    this.ui.err(
      this.context.env.OXENVCS_BACKGROUND === '1'
        ? `${this.ui.mark('info')} Keeping the lock alive in the background; stop with \`oxenvcs lock heartbeat --stop\` (the lock stays yours until it expires).`
        : `${this.ui.mark('info')} Keeping the lock alive; press Ctrl-C to stop (the lock stays yours until it expires).`,
    );
    try {
      const end = await engine.heartbeat({
        signal: controller.signal,
        ...(hours ? { ttlHours: hours } : {}),
      });
      if (end === 'lost') await this.notifyLost(engine);
      return {
        exitCode: end === 'lost' ? EXIT.FAILURE : EXIT.OK,
        data: { heartbeat: end },
        human: () =>
          this.ui.out(
            end === 'lost'
              ? `${this.ui.mark('fail')} Heartbeat ended: the lock was lost`
              : 'Heartbeat stopped.',
          ),
      };
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.off('SIGHUP', stop);
    }
  }
}
