/**
 * The suite's only time limits. They are guards against a hang, never budgets a passing test must
 * fit in: a test that needs time waits for a condition (a line printed, a file written, a process
 * gone), and these only end a wait whose condition never comes. They are far above what any test
 * takes on a loaded machine (two copies of the suite at once on two cores, beside builds), so a busy
 * machine is never read as a failure; a hang still ends, with the condition it waited for.
 */

/** How long one `vi.waitFor` polls before it fails with the condition's last error. */
export const WAIT_MS = 180_000;

/** How long one test or hook may run (longer than {@link WAIT_MS}, so a wait reports first). */
export const TEST_MS = 600_000;
