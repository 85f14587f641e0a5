// Preloaded into a CLI process (`node --import`): its wall clock (`Date`) runs `CLOCK_SKEW_MS` off,
// and `CLOCK_STEP_MS` more once the file `CLOCK_STEP_FILE` exists (a clock set by hand, or by NTP,
// while the command runs). The monotonic clock (`performance`) is left as it is, as the OS does.
import { existsSync } from 'node:fs';

const skew = Number(process.env.CLOCK_SKEW_MS ?? 0);
const step = Number(process.env.CLOCK_STEP_MS ?? 0);
const file = process.env.CLOCK_STEP_FILE;
const RealDate = Date;
const realNow = RealDate.now.bind(RealDate);
const now = () => realNow() + skew + (file && existsSync(file) ? step : 0);

class SkewedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(now());
    else super(...args);
  }
  static now() {
    return now();
  }
}
globalThis.Date = SkewedDate;
