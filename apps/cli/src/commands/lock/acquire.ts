import { Command, Option } from 'clipanion';
import { BaseCommand, behindJson, parseHours, type Report, TIMEOUT_RANGE } from '../../base.js';
import { startKeepAlive } from '../../keep-alive.js';
import { EXIT, safeText, shortId } from '../../output.js';
import { renderLease, renewedHeadline } from '../../render.js';

/** `oxenvcs lock acquire`: take the project's exclusive lock, or queue the request when offline. */
export class LockAcquireCommand extends BaseCommand {
  static override paths = [['lock', 'acquire']];
  static override usage = Command.Usage({
    category: 'Locks',
    description: 'Take the exclusive lock on the project (queued when offline).',
    details: `
      Exit codes: 0 the lock is yours; 75 queued for later — the lock is NOT held yet, so
      \`oxenvcs lock acquire && open-the-project\` is safe; 3 someone else holds it; 2 bad input; 1 other failure.
      Re-acquiring a lock you hold renews it for the new timeout (which may shorten it: the output says so).
    `,
    examples: [
      ['Lock for 4 hours with a note', 'oxenvcs lock acquire --timeout 4 --comment "vocal comping"'],
    ],
  });

  timeout = Option.String('--timeout', {
    description: `Lease length in ${TIMEOUT_RANGE} (default: config lock.timeout_hours = 4)`,
  });
  comment = Option.String('--comment', { description: 'A note others see while you hold the lock' });
  keepAlive = Option.Boolean('--keep-alive', {
    description:
      'Keep renewing the lock in the background (it survives closing the terminal) until release, expiry or a break (default: config lock.keep_alive)',
  });

  protected async run(): Promise<Report> {
    const hours = parseHours(this.timeout);
    const engine = await this.engine();
    const before = this.leaseEnd(engine);
    const outcome = await engine.lockAcquire({
      ...(hours ? { ttlHours: hours } : {}),
      ...(this.comment ? { comment: this.comment } : {}),
    });
    if (outcome.status === 'queued') {
      const p = engine.project();
      return {
        exitCode: EXIT.QUEUED,
        data: {
          status: 'queued',
          reason: outcome.reason,
          ...behindJson(outcome),
          entry: {
            id: outcome.entry.id,
            shortId: shortId(outcome.entry.id),
            kind: outcome.entry.operation.kind,
          },
        },
        human: () => {
          this.renderQueued(outcome.entry, outcome.reason, [
            `User: ${safeText(p.holder)}`,
            `Timeout: ${hours ?? engine.config.lock.timeout_hours} hours`,
          ]);
          this.ui.err(
            `${this.ui.mark('info')} Lock will be acquired ${outcome.behind ? 'after them, when `oxenvcs queue sync` runs the queue' : 'when network is available'}`,
          );
          this.ui.err(`${this.ui.mark('info')} Use 'oxenvcs queue sync' to retry manually`);
        },
      };
    }
    const lease = outcome.result;
    const keep = this.keepAlive ?? engine.config.lock.keep_alive;
    const alive = keep
      ? await startKeepAlive(engine, {
          ...(this.project ? { project: this.project } : {}),
          ...(this.remote ? { remote: this.remote } : {}),
        })
      : undefined;
    return {
      data: { status: 'done', lock: lease, ...(alive ? { keepAlive: alive } : {}) },
      human: () => {
        if (alive)
          this.ui.err(
            `${this.ui.mark('info')} Keep-alive ${alive.started ? 'started' : 'already running'}${alive.pid ? ` (pid ${alive.pid})` : ''}; log: ${alive.log}`,
          );
        this.ui.out(
          `${this.ui.mark('ok')} ${lease.alreadyHeld ? renewedHeadline(lease.expiresAt, before, true) : 'Lock acquired successfully'}`,
        );
        renderLease(this.ui, lease);
      },
    };
  }
}
