import type { Engine } from '@oxvcs/engine';
import { Command, Option } from 'clipanion';
import { BaseCommand, parseHours, type Report, TIMEOUT_RANGE } from '../../base.js';
import { EXIT, humanText, safeText } from '../../output.js';
import { keyName } from '../../render.js';
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
      const result = await engine.stopKeepAlive({ by: '`oxenvcs lock heartbeat --stop`' });
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
    let signalled: NodeJS.Signals | undefined;
    const stop = (signal: NodeJS.Signals) => {
      signalled = signal;
      controller.abort();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    process.once('SIGHUP', stop);
    const p = engine.project();
    const which = `${keyName(p.key)} (${safeText(p.root)})`;
    this.ui.err(
      this.background
        ? `${this.ui.mark('info')} Keeping the lock on ${which} alive in the background (pid ${process.pid}); stop with \`oxenvcs lock heartbeat --stop\` (the lock stays yours until it expires).`
        : `${this.ui.mark('info')} Keeping the lock on ${which} alive; press Ctrl-C to stop (the lock stays yours until it expires).`,
    );
    try {
      const end = await engine.heartbeat({
        signal: controller.signal,
        ...(hours ? { ttlHours: hours } : {}),
      });
      if (end === 'lost') await this.notifyLost(engine);
      const why = end === 'stopped' ? await this.stopReason(engine, signalled) : undefined;
      return {
        exitCode: end === 'lost' ? EXIT.FAILURE : EXIT.OK,
        data: { heartbeat: end, ...(why ? { reason: why } : {}) },
        human: () => {
          // A loss was said as it happened ("Lock lost: …", with its reason): one line per event.
          if (end === 'lost') return;
          this.ui.out(
            `${this.ui.mark('info')} Keep-alive stopped: ${why}; the lock stays yours until it expires.`,
          );
        },
      };
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.off('SIGHUP', stop);
    }
  }

  private get background(): boolean {
    return this.context.env.OXENVCS_BACKGROUND === '1';
  }

  /** Why the keep-alive stopped, in words: the command that asked (from its note), else the signal. */
  private async stopReason(engine: Engine, signal: NodeJS.Signals | undefined): Promise<string> {
    // The keep-alive's last note carries who asked it to stop (`stopKeepAlive({by})`), as its reason.
    const note = (await engine.keepAlive()).note;
    const by = note?.state === 'stopped' ? note.reason : undefined;
    if (by) return `asked by ${safeText(by)}`;
    switch (signal) {
      case 'SIGINT':
        return 'Ctrl-C';
      case 'SIGHUP':
        return 'the terminal closed';
      case undefined:
        return 'stopped';
      default:
        return `the process was sent ${signal}`;
    }
  }
}
