import { vi } from 'vitest';
import { WAIT_MS } from './vitest.timeouts.js';

// `vi.waitFor` gives up after 1 s by default. A test polls for a condition because it cannot know
// when it comes true, and on a busy machine (CI beside other work, two copies of the suite, a laptop
// with Logic open) that can take many times what it takes on an idle one. So no wait names a budget
// of its own: every wait polls up to WAIT_MS, a guard against a condition that never comes true,
// and returns as soon as its condition holds.
const waitFor = vi.waitFor;
vi.waitFor = ((callback: Parameters<typeof waitFor>[0], options?: Parameters<typeof waitFor>[1]) =>
  waitFor(
    callback,
    typeof options === 'number' ? options : { timeout: WAIT_MS, ...options },
  )) as typeof waitFor;
