import { Command, Option } from 'clipanion';
import { BaseCommand, parseHours, queuedJson, type Report, TIMEOUT_RANGE } from '../../base.js';
import { EXIT, moment } from '../../output.js';
import { grantedNow, renderLease, renewedHeadline } from '../../render.js';

/** `oxenvcs lock renew`. */
export class LockRenewCommand extends BaseCommand {
  static override paths = [['lock', 'renew']];
  static override usage = Command.Usage({
    category: 'Locks',
    description: 'Extend your lease (queued when offline; a queued renew expires with the lease it extends).',
    details:
      'The lease runs for the timeout from now, so a short --timeout can shorten it (the output says so). Exit codes: 0 renewed; 75 queued; 1 failure (you lost the lock: it was taken over or broken, or offline, the lease you held has already ended).',
  });

  timeout = Option.String('--timeout', {
    description: `New lease length in ${TIMEOUT_RANGE} (default: the current one)`,
  });

  protected async run(): Promise<Report> {
    const hours = parseHours(this.timeout);
    const engine = await this.engine();
    const before = this.leaseEnd(engine);
    const outcome = await engine.lockRenew(hours ? { ttlHours: hours } : {});
    if (outcome.status === 'queued' && outcome.enqueued === 'expired') {
      // Offline, with the lease this machine last held already over: there is nothing to extend.
      const ended = outcome.entry.expiresAt;
      return {
        exitCode: EXIT.FAILURE,
        data: { ...queuedJson(outcome, { status: 'expired' }), ...(ended ? { leaseEndedAt: ended } : {}) },
        human: () =>
          this.ui.err(
            `${this.ui.mark('fail')} Not renewed: your lease ended ${ended ? moment(ended) : 'already'}, so there is nothing to extend; take the lock again with \`oxenvcs lock acquire\` (queued while offline).`,
          ),
      };
    }
    if (outcome.status === 'queued') {
      return {
        exitCode: EXIT.QUEUED,
        data: queuedJson(outcome),
        human: () =>
          this.renderQueued(outcome.entry, outcome.reason, [
            `Expires unless synced by: ${outcome.entry.expiresAt ? moment(outcome.entry.expiresAt) : 'never'}`,
          ]),
      };
    }
    return {
      data: { status: 'done', lock: outcome.result },
      human: () => {
        const now = grantedNow(outcome.result);
        this.ui.out(`${this.ui.mark('ok')} ${renewedHeadline(outcome.result.expiresAt, before, false, now)}`);
        renderLease(this.ui, outcome.result, now);
      },
    };
  }
}
