import { vi } from 'vitest';

// `vi.waitFor` gives up after 1 s by default: on a busy machine (CI runs beside other work) a
// condition a test polls for can take longer to come true. Every wait polls up to 15 s unless the
// test asks otherwise; a wait that passes returns as soon as its condition holds.
const waitFor = vi.waitFor;
vi.waitFor = ((callback: Parameters<typeof waitFor>[0], options?: Parameters<typeof waitFor>[1]) =>
  waitFor(
    callback,
    typeof options === 'number' ? options : { timeout: 15_000, ...options },
  )) as typeof waitFor;
