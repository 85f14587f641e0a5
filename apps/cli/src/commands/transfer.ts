import type { EngineEvent, QueueEntry } from '@oxvcs/engine';
import { checkName, shortId } from '@oxvcs/engine';
import { Command, Option } from 'clipanion';
import { BaseCommand, behindJson, type Report } from '../base.js';
import { EXIT, safeText } from '../output.js';
import { queuedWords } from '../render.js';

abstract class TransferCommand extends BaseCommand {
  branch = Option.String({ required: false, name: 'BRANCH' });
  protected abstract readonly verb: 'push' | 'pull';

  /** Replaying this project's queued operations first (auto-sync), and the one running now. */
  #autoSync: { running?: QueueEntry } | undefined;
  #interrupted = false;

  /** What this push sends that cannot resume midway (`--json`: the `unresumable` field). */
  #unresumable: Omit<Extract<EngineEvent, { type: 'push-unresumable' }>, 'type'> | undefined;

  protected override observe(event: EngineEvent): boolean {
    if (event.type === 'push-unresumable') {
      const { type: _type, ...fact } = event;
      this.#unresumable ??= fact;
    }
    if (event.type === 'auto-sync') this.#autoSync = {};
    if (event.type !== 'sync' || !this.#autoSync) return false;
    const e = event.event;
    if (e.type === 'entry-started') this.#autoSync.running = e.entry;
    else if (e.type === 'run-finished') this.#autoSync = undefined;
    else if (
      (e.type === 'entry-done' || e.type === 'entry-failed' || e.type === 'entry-deferred') &&
      e.entry.id === this.#autoSync.running?.id
    )
      delete this.#autoSync.running;
    return false;
  }

  /** What Ctrl-C stopped, and what that leaves, in one line. */
  private interruptedMessage(): string {
    const running = this.#autoSync?.running;
    if (running)
      return `Interrupted: the queued ${this.describe(running)} (${shortId(running.id)}) was stopped and stays queued (the remote is checked before it runs again); your ${this.verb} did not start.`;
    if (this.#autoSync)
      return `Interrupted while replaying this project's queued operations: they stay queued, and your ${this.verb} did not start.`;
    // Oxen moves the remote branch only once every file is uploaded (its last request), and a pull
    // writes files only after downloading: what a stopped transfer leaves is said as it is.
    return this.verb === 'push'
      ? 'Interrupted: the push was stopped before it finished, so the remote branch was not moved; run `oxenvcs push` again to send it.'
      : 'Interrupted: the pull was stopped before it finished, so your copy may be only partly updated; run `oxenvcs pull` again to complete it.';
  }

  /**
   * Ctrl-C: one line saying what was stopped, then the process ends by SIGINT as a shell expects
   * (status 130). The oxen adapter kills a running transfer's process group on the same signal;
   * while this listener is there it leaves the ending to us, which waits for the line to be out.
   */
  private onInterrupt = () => {
    if (this.#interrupted) return;
    this.#interrupted = true;
    void this.endInterrupted(this.interruptedMessage(), this.onInterrupt);
  };

  protected async run(): Promise<Report> {
    process.on('SIGINT', this.onInterrupt);
    try {
      return await this.transfer();
    } finally {
      if (!this.#interrupted) process.off('SIGINT', this.onInterrupt);
    }
  }

  private async transfer(): Promise<Report> {
    const engine = await this.engine();
    // Oxen prints nothing until its own bar starts (the connectivity check, replaying what is
    // queued, oxen's start-up and its first requests take seconds): say at once that work began.
    // Not for a branch name refused at the door: nothing starts.
    if (!this.json && (this.branch === undefined || checkName('branch', this.branch) === undefined))
      this.ui.err(
        `${this.ui.mark('info')} Connecting to ${safeText(engine.project().remote.origin)}; preparing the ${this.verb}…`,
      );
    const outcome = this.verb === 'push' ? await engine.push(this.branch) : await engine.pull(this.branch);
    if (outcome.status === 'queued') {
      // The same transfer was queued last: this entry replaces it, and one run does both.
      const replaced = outcome.enqueued === 'collapsed' ? outcome.replaces : undefined;
      const { id } = outcome.entry;
      return {
        exitCode: EXIT.QUEUED,
        data: {
          status: 'queued',
          reason: queuedWords(outcome.reason),
          ...(this.#unresumable ? { unresumable: this.#unresumable } : {}),
          ...behindJson(outcome),
          entry: { id, shortId: shortId(id) },
          ...(replaced ? { replaces: { id: replaced, shortId: shortId(replaced) } } : {}),
        },
        human: () => {
          this.renderQueued(
            outcome.entry,
            outcome.reason,
            replaced
              ? [`Replaces the same ${this.verb} queued before (${shortId(replaced)}): it runs once`]
              : [],
          );
          this.ui.err(`${this.ui.mark('info')} Use 'oxenvcs queue sync' to retry manually`);
        },
      };
    }
    return {
      data: {
        status: 'done',
        result: outcome.result,
        ...(this.#unresumable ? { unresumable: this.#unresumable } : {}),
      },
      human: () => {
        this.ui.out(
          outcome.result.upToDate
            ? `${this.ui.mark('ok')} Everything is up to date`
            : `${this.ui.mark('ok')} ${this.verb === 'push' ? 'Pushed' : 'Pulled'} successfully`,
        );
        const r = outcome.result;
        if (typeof r.lockLost === 'string')
          this.ui.err(
            `${this.ui.mark('warn')} ${lockLostWords(engine.project().key, {
              state: r.lockLost,
              fencingToken: Number(r.lockLostToken),
              ...(typeof r.lockHolderNow === 'string' ? { holder: r.lockHolderNow } : {}),
            })}`,
          );
      },
    };
  }
}

/** A push that went through under a lease lost while it ran (Oxen cannot refuse it): what to do. */
function lockLostWords(key: string, lost: { fencingToken: number; state: string; holder?: string }): string {
  const what = key === '.' ? 'this project' : safeText(key);
  const now = lost.holder
    ? `${safeText(lost.holder)} holds it now`
    : `it is ${lost.state.replace(/-/g, ' ')} now`;
  return `Your lock on ${what} (fencing token ${lost.fencingToken}) ended while the push ran, and ${now}: the push went through anyway, so tell ${lost.holder ? 'them' : 'your team'} before anyone pushes over it.`;
}

/** `oxenvcs push [BRANCH]`. */
export class PushCommand extends TransferCommand {
  static override paths = [['push']];
  static override usage = Command.Usage({
    category: 'Transfer',
    description:
      'Push a branch (default: the current one) through oxen; queued when offline. Refuses while someone else holds the lock, or under a lock you no longer hold.',
    details:
      'Exit codes: 0 pushed; 75 queued; 3 someone else holds the lock; 1 failure; 130 interrupted (Ctrl-C: the remote branch is not moved).',
  });
  protected readonly verb = 'push' as const;
}

/** `oxenvcs pull [BRANCH]`. */
export class PullCommand extends TransferCommand {
  static override paths = [['pull']];
  static override usage = Command.Usage({
    category: 'Transfer',
    description: 'Pull a branch (default: the current one) through oxen; queued when offline.',
    details: 'Exit codes: 0 pulled; 75 queued; 1 failure; 130 interrupted (Ctrl-C).',
  });
  protected readonly verb = 'pull' as const;
}
