import { Command, Option, UsageError } from 'clipanion';
import { BaseCommand, type Report } from '../base.js';
import { safeText } from '../output.js';
import { sizeText } from '../render.js';

const UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** The largest part size, 1 TB (as `transfer.part_size_mb`'s bound): larger is one part for any take. */
const MAX_PART_BYTES = 1e12;

/** Parses `--part-size` (`200MB`, `1.5GB`, `512MiB`, bytes); 1 MB to 1 TB. A usage error otherwise. */
export function parseSize(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?\s*$/i.exec(value);
  const unit = UNITS[(m?.[2] ?? '').toLowerCase()];
  const bytes = m && unit ? Math.round(Number(m[1]) * unit) : Number.NaN;
  if (!Number.isFinite(bytes) || bytes < 1e6 || bytes > MAX_PART_BYTES)
    throw new UsageError(
      `--part-size must be a size from 1 MB to 1000 GB (got "${safeText(value)}"), e.g. --part-size 200MB`,
    );
  return bytes;
}

/** `oxenvcs commit -m MESSAGE [--part-size SIZE]`: record a take as commit-sized checkpoints. */
export class CommitCommand extends BaseCommand {
  static override paths = [['commit']];
  static override usage = Command.Usage({
    category: 'Transfer',
    description:
      'Stage the project and record it as commits of at most --part-size each ("MESSAGE (part i of n)"), the project document last, so a cut push resumes at a part. Refuses while someone else holds the lock.',
    details:
      'Oxen resumes a push only at whole commits: each part on the remote is skipped by the next push, a part cut midway is sent again from its start. A single file larger than the part size is a part of its own and cannot resume midway. Exit codes: 0 recorded; 3 someone else holds the lock; 2 bad input; 1 failure.',
    examples: [['Record a take in parts of 200 MB', 'oxenvcs commit -m "vocal comp" --part-size 200MB']],
  });

  message = Option.String('-m,--message', { required: true, description: 'The commit message' });
  partSize = Option.String('--part-size', {
    description: 'Largest part, e.g. 200MB, 1GB, 512MiB (default: config transfer.part_size_mb, 200MB)',
  });

  /** Set by Ctrl-C: the ending that never settles (see `endInterrupted`). */
  #interrupted: Promise<never> | undefined;

  /**
   * Ctrl-C: one line saying what it leaves (parts already committed stay, and a push refuses a
   * branch ending inside the take), then the process ends by SIGINT (status 130). The oxen
   * adapter kills a running `oxen add` or `oxen commit` on the same signal.
   */
  private onInterrupt = () => {
    this.#interrupted ??= this.endInterrupted(
      `Interrupted: the take "${safeText(this.message)}" may be recorded only in part; run \`oxenvcs commit -m "${safeText(this.message)}"\` again to record the rest (a push refuses a branch that ends inside it).`,
      this.onInterrupt,
    );
  };

  protected async run(): Promise<Report> {
    if (this.message.trim() === '')
      throw new UsageError('-m must be a non-empty message, e.g. -m "vocal comp"');
    const partBytes = this.partSize === undefined ? undefined : parseSize(this.partSize);
    const engine = await this.engine();
    process.on('SIGINT', this.onInterrupt);
    let take: Awaited<ReturnType<typeof engine.commitTake>>;
    try {
      take = await engine.commitTake({
        message: this.message,
        ...(partBytes !== undefined ? { partBytes } : {}),
      });
    } catch (error) {
      // Stopped by Ctrl-C (oxen killed under it): the one line is said, no failure after it.
      if (this.#interrupted) return this.#interrupted;
      throw error;
    } finally {
      if (!this.#interrupted) process.off('SIGINT', this.onInterrupt);
    }
    if (take.ended) {
      const { part, parts } = take.ended;
      return {
        data: { status: 'ended', message: take.message, part, parts },
        human: () =>
          this.ui.out(
            `${this.ui.mark('ok')} Nothing left to record of the take "${safeText(take.message)}": it ends at part ${part} of ${parts} as recorded, and a push sends it as it is.`,
          ),
      };
    }
    return {
      data: {
        status: 'committed',
        partBytes: take.partBytes,
        bytes: take.bytes,
        files: take.files,
        parts: take.parts.map((p) => ({
          index: p.index,
          commit: p.commit,
          message: p.message,
          bytes: p.bytes,
          files: p.paths.length,
          oversized: p.oversized,
        })),
        ...(take.lockUnchecked ? { lockUnchecked: true } : {}),
        ...(take.leftOut ? { leftOut: take.leftOut } : {}),
      },
      human: () => {
        const ui = this.ui;
        const n = take.parts.length;
        ui.out(
          `${ui.mark('ok')} Recorded ${take.files} files (${sizeText(take.bytes)}) as ${n} ${n === 1 ? 'commit' : 'parts'} of at most ${sizeText(take.partBytes)}`,
        );
        for (const p of take.parts)
          ui.out(
            `  ${p.commit.slice(0, 8)}  ${safeText(p.message)}  ${sizeText(p.bytes)}, ${p.paths.length} files`,
          );
        if (take.oversized.length > 0)
          ui.err(
            `${ui.mark('warn')} Part ${take.oversized.join(', ')} holds a file larger than ${sizeText(take.partBytes)}: a push cut inside it sends it again from its start (Oxen resumes only whole commits); a larger --part-size does not help, a smaller file (bounce or split it) does.`,
          );
        if (take.leftOut) {
          const n = take.leftOut.length;
          ui.err(
            `${ui.mark('warn')} oxen lists ${n === 1 ? '1 change that is' : `${n} changes that are`} not found on disk (${take.leftOut.map((p) => safeText(JSON.stringify(p))).join(', ')}), so the take does not hold ${n === 1 ? 'it' : 'them'} (deleted while it was recorded, or a file name with a line break); if ${n === 1 ? 'it belongs' : 'they belong'} in the project, rename or restore ${n === 1 ? 'it' : 'them'} and run \`oxenvcs commit\` again.`,
          );
        }
        if (take.lockUnchecked)
          ui.err(
            `${ui.mark('warn')} The remote is unreachable, so its lock was not checked; the push checks it before it sends anything.`,
          );
      },
    };
  }
}
