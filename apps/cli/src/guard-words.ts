import type { GuardReason, GuardReport } from '@oxvcs/engine';
import { safeText } from './output.js';

/** Why the files were changed, in words (every reason worded: the compiler finds a missing one). */
const BECAUSE: Readonly<Record<GuardReason, string>> = {
  acquired: 'lock acquired',
  held: 'you hold the lock',
  released: 'lock released',
  lost: 'you no longer hold the lock',
  'not-held': 'you do not hold the lock',
  'guard-off': 'the read-only guard is off',
};

/** The read-only guard in help text (lock acquire, release, status): one home for the words. */
export const GUARD_HELP = `Read-only guard (opt-in per repository: \`[lock] read_only_guard = true\` in the
      repository's .oxenvcs/config.toml): while you do not hold the lock, the project's files are
      read-only on disk (acquire makes them writable, release or losing the lock makes them read-only
      again; a file you made read-only yourself stays so; .oxen/ is never touched).`;

const files = (n: number) => `${n} ${n === 1 ? 'file' : 'files'}`;

/**
 * What the read-only guard did, as lines to show (none when it changed nothing and nothing
 * failed): "Made 312 files read-only (lock released); `oxenvcs lock acquire` makes them writable".
 */
export function guardLines(report: GuardReport): { mark: 'info' | 'warn'; text: string }[] {
  const lines: { mark: 'info' | 'warn'; text: string }[] = [];
  if (report.changed > 0)
    lines.push({
      mark: 'info',
      text:
        report.made === 'read-only'
          ? `Made ${files(report.changed)} read-only (${BECAUSE[report.reason]}); \`oxenvcs lock acquire\` makes them writable`
          : `Made ${files(report.changed)} writable (${BECAUSE[report.reason]})`,
    });
  const first = report.failed[0];
  if (report.recordFailed)
    lines.push({
      mark: 'warn',
      text: `The read-only guard could not keep its record in the state folder (${safeText(report.recordFailed)}), so it changed nothing; free some space or fix its permissions, then run \`oxenvcs lock status\` to try again`,
    });
  if (first)
    lines.push({
      mark: 'warn',
      text: `Could not make ${files(report.failed.length)} ${report.made} (${safeText(first.path)}: ${safeText(first.errno)}${report.failed.length > 1 ? ', and others' : ''}); fix their permissions, then run \`oxenvcs lock status\` to try again`,
    });
  return lines;
}

/**
 * `lock status`: the guard in one line (`held`: you hold the lock), or none when it is off and
 * keeps nothing read-only.
 */
export function guardStatusLine(
  guard: { enabled: boolean; readOnly: number } | undefined,
  held: boolean,
): string | undefined {
  if (!guard || (!guard.enabled && guard.readOnly === 0)) return undefined;
  if (!guard.enabled) return `Read-only guard: off (${files(guard.readOnly)} still read-only by it)`;
  return held
    ? 'Read-only guard: on (the files are writable while you hold the lock)'
    : `Read-only guard: on (${files(guard.readOnly)} read-only until you hold the lock)`;
}
