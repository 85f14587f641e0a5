import { Command, Option } from 'clipanion';
import { BaseCommand, parseHours, queuedJson, type Report, TIMEOUT_RANGE } from '../../base.js';
import { GUARD_HELP } from '../../guard-words.js';
import { startKeepAlive } from '../../keep-alive.js';
import { EXIT, safeText } from '../../output.js';
import { grantedNow, renderLease, renewedHeadline } from '../../render.js';
import { lockName, parseWait, waitedWords, waitingLine } from '../../waiting.js';

/** `oxenvcs lock acquire`: take the project's exclusive lock, or queue the request when offline. */
export class LockAcquireCommand extends BaseCommand {
  static override paths = [['lock', 'acquire']];
  static override usage = Command.Usage({
    category: 'Locks',
    description: 'Take the exclusive lock on the project (queued when offline).',
    details: `
      Exit codes: 0 the lock is yours; 75 queued for later — the lock is NOT held yet, so
      \`oxenvcs lock acquire && open-the-project\` is safe; 3 someone else holds it (or others wait in line
      first); 2 bad input; 1 other failure (--max-wait ran out); 130 Ctrl-C while waiting.
      Re-acquiring a lock you hold renews it for the new timeout (which may shorten it: the output says so).
      With --wait you join the line for the lock (everyone's \`lock status\` shows it) and get it when your
      turn comes: first come, first served. Ctrl-C or --max-wait leaves the line. A queued acquire
      (offline) waits in line the same way when it is replayed, until its timeout.
      ${GUARD_HELP}
    `,
    examples: [
      ['Lock for 4 hours with a note', 'oxenvcs lock acquire --timeout 4 --comment "vocal comping"'],
      ['Wait your turn, at most half an hour', 'oxenvcs lock acquire --wait --max-wait 30m'],
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

  wait = Option.Boolean('--wait', false, {
    description: 'If the lock is held, wait in line for it (first come, first served) instead of failing',
  });
  maxWait = Option.String('--max-wait', {
    description: 'With --wait: give up after this long, e.g. 90s, 30m, 2h (a plain number is minutes)',
  });

  #waiting: AbortController | undefined;
  #interrupted = false;

  /** Ctrl-C while waiting: leave the line (the engine does), then end by SIGINT as a shell expects. */
  private onInterrupt = () => {
    if (this.#interrupted) {
      // A second Ctrl-C does not wait for the line to be left: the place lapses by itself.
      this.endBySigint(this.onInterrupt);
      return;
    }
    this.#interrupted = true;
    this.#waiting?.abort(new Error('interrupted'));
  };

  protected async run(): Promise<Report> {
    const hours = parseHours(this.timeout);
    const maxWaitMs = this.maxWait === undefined ? undefined : parseWait(this.maxWait);
    const waiting = this.wait || maxWaitMs !== undefined;
    const engine = await this.engine();
    const before = this.leaseEnd(engine);
    let last = '';
    if (waiting) {
      this.#waiting = new AbortController();
      process.on('SIGINT', this.onInterrupt);
    }
    let outcome: Awaited<ReturnType<typeof engine.lockAcquire>>;
    try {
      outcome = await engine.lockAcquire({
        ...(hours ? { ttlHours: hours } : {}),
        ...(this.comment ? { comment: this.comment } : {}),
        ...(this.#waiting
          ? {
              wait: {
                signal: this.#waiting.signal,
                ...(maxWaitMs !== undefined ? { maxWaitMs } : {}),
                onProgress: (p) => {
                  const line = waitingLine(p);
                  // A live line on a terminal; otherwise only when something changed.
                  if (this.ui.tty) this.ui.progress(`${this.ui.mark('info')} ${line}`);
                  else if (line !== last) this.ui.err(`${this.ui.mark('info')} ${line}`);
                  last = line;
                },
              },
            }
          : {}),
      });
    } catch (error) {
      // After Ctrl-C, once the line is left: one line, then the process ends by the signal.
      if (this.#interrupted)
        return await this.endInterrupted(
          'Interrupted: you left the line; the lock was not taken.',
          this.onInterrupt,
        );
      throw error;
    } finally {
      if (this.#waiting && !this.#interrupted) process.off('SIGINT', this.onInterrupt);
    }
    if (outcome.status === 'queued') {
      const p = engine.project();
      return {
        exitCode: EXIT.QUEUED,
        data: queuedJson(outcome, { kind: true }),
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
    const waited = lease.waited === true;
    if (waited) {
      const where = engine.project();
      await engine.notify(
        'Your turn: lock acquired',
        `${lockName(where)} is yours now (${waitedWords(lease.waitedMs ?? 0)}).`,
      );
    }
    const keep = this.keepAlive ?? engine.config.lock.keep_alive;
    const alive = keep
      ? await startKeepAlive(engine, {
          ...(this.project ? { project: this.project } : {}),
          ...(this.remote ? { remote: this.remote } : {}),
        })
      : undefined;
    return {
      data: {
        status: 'done',
        lock: lease,
        ...(waited ? { waitedMs: lease.waitedMs } : {}),
        ...(alive ? { keepAlive: alive } : {}),
      },
      human: () => {
        if (alive)
          this.ui.err(
            `${this.ui.mark('info')} Keep-alive ${alive.started ? 'started' : 'already running'}${alive.pid ? ` (pid ${alive.pid})` : ''}; log: ${alive.log}`,
          );
        this.ui.out(
          `${this.ui.mark('ok')} ${
            waited
              ? `Your turn: lock acquired ${waitedWords(lease.waitedMs ?? 0)} in line`
              : lease.alreadyHeld
                ? renewedHeadline(lease.expiresAt, before, true, grantedNow(lease))
                : 'Lock acquired successfully'
          }`,
        );
        renderLease(this.ui, lease, grantedNow(lease));
      },
    };
  }
}
