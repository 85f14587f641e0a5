import { Command } from 'clipanion';
import { BaseCommand, queuedJson, type Report } from '../../base.js';
import { GUARD_HELP } from '../../guard-words.js';
import { EXIT, safeText } from '../../output.js';

/** `oxenvcs lock release`. */
export class LockReleaseCommand extends BaseCommand {
  static override paths = [['lock', 'release']];
  static override usage = Command.Usage({
    category: 'Locks',
    description: 'Give the lock back (queued when offline; a queued release cancels a still-queued acquire).',
    details: `
      Exit codes: 0 released (or already free); 75 queued; 1 failure (e.g. someone else holds it now).
      A background keep-alive of the lock is stopped first, even when the release is queued (offline):
      the lock then stays yours until its lease runs out or the release replays, whichever comes
      first, and nothing renews it meanwhile.
      ${GUARD_HELP}
    `,
  });

  protected async run(): Promise<Report> {
    const engine = await this.engine();
    // A keep-alive would only fail its next renewal: stop it first (a queued release too: the
    // user is done with the lock, so it is not renewed while the release waits for the network).
    const alive = await engine.stopKeepAlive({ by: '`oxenvcs lock release`' });
    const stopped = alive.stopped
      ? () =>
          this.ui.err(
            `${this.ui.mark('info')} Keep-alive stopped (pid ${alive.pid}): nothing renews the lock any more.`,
          )
      : () => {};
    const keepAlive = alive.stopped ? { keepAlive: { stopped: true, pid: alive.pid } } : {};
    const outcome = await engine.lockRelease();
    if (outcome.status === 'queued') {
      const cancelled = outcome.enqueued === 'cancelled';
      return {
        exitCode: cancelled ? EXIT.OK : EXIT.QUEUED,
        data: { ...queuedJson(outcome, { status: cancelled ? 'cancelled' : 'queued' }), ...keepAlive },
        human: () => {
          stopped();
          if (cancelled)
            this.ui.out(
              `${this.ui.mark('ok')} The queued lock acquisition was cancelled; nothing to release.`,
            );
          else {
            this.renderQueued(outcome.entry, outcome.reason, [`User: ${safeText(engine.project().holder)}`]);
            this.ui.err(
              `${this.ui.mark('info')} Lock will be released ${outcome.behind ? 'after them, when `oxenvcs queue sync` runs the queue (it stays yours until then, or until its lease runs out)' : 'when network is available; until then it stays yours until its lease runs out'}`,
            );
          }
        },
      };
    }
    const { released, previous } = outcome.result;
    return {
      data: { status: 'done', released, previous, ...keepAlive },
      human: () => {
        stopped();
        this.ui.out(
          released
            ? `${this.ui.mark('ok')} Lock released`
            : `${this.ui.mark('info')} Nothing to release: the lock was ${previous.replace(/-/g, ' ')}`,
        );
      },
    };
  }
}
