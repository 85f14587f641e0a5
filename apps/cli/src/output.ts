import type { Writable } from 'node:stream';
import type { styleText } from 'node:util';

/** Exit codes, documented in `--help` and the README. */
export const EXIT = {
  /** Done. */
  OK: 0,
  /** Any other failure. */
  FAILURE: 1,
  /** Bad usage or input. */
  USAGE: 2,
  /** The lock is held by someone else. */
  HELD: 3,
  /** Queued for later (EX_TEMPFAIL): the lock is NOT held yet. */
  QUEUED: 75,
  /** Stopped by Ctrl-C (SIGINT): the process ends by the signal, which a shell shows as 130. */
  INTERRUPTED: 130,
} as const;

type Style = Parameters<typeof styleText>[0];

/** Terminal output: data to stdout, diagnostics to stderr; colour and emoji only where wanted. */
export interface Ui {
  readonly json: boolean;
  readonly verbose: boolean;
  readonly tty: boolean;
  colour: boolean;
  emoji: boolean;
  /** A line of data (stdout). */
  out(line?: string): void;
  /** Runs `fn`, writing the lines it outputs in one go at the end. */
  batch(fn: () => void): void;
  /** A diagnostic line (stderr). */
  err(line?: string): void;
  /** Rewrites the current stderr line (TTY progress). */
  progress(line: string): void;
  clearProgress(): void;
  mark(kind: 'ok' | 'warn' | 'info' | 'fail'): string;
  style(style: Style, text: string): string;
}

/** Creates the UI for a command run. */
export function createUi(options: {
  stdout: Writable;
  stderr: Writable;
  env: Record<string, string | undefined>;
  json: boolean;
  verbose: boolean;
  /**
   * Starts every line with the local date and time to the second (a log nobody watches, such as
   * the background keep-alive's, where a line is read long after it was written). @default false
   */
  stamp?: boolean;
}): Ui {
  const tty = Boolean((options.stdout as { isTTY?: boolean }).isTTY);
  const errTty = Boolean((options.stderr as { isTTY?: boolean }).isTTY);
  const noColor = options.env.NO_COLOR !== undefined && options.env.NO_COLOR !== '';
  let progressShown = false;
  // Lines collected by `batch` (a report of 1,000 queue entries): one write instead of thousands.
  let pending: string[] | undefined;
  const flush = () => {
    if (pending && pending.length > 0) options.stdout.write(`${pending.join('\n')}\n`);
  };
  // Every line is made terminal-safe on its way out (defence in depth: foreign text is also
  // cleaned where it is inserted): only our own colour codes may pass, and only when colour is on.
  const clean = (line: string) =>
    `${options.stamp ? `${stampOf(Date.now())} ` : ''}${terminalLine(line, ui.colour)}`;
  const ui: Ui = {
    json: options.json,
    verbose: options.verbose,
    tty,
    colour: tty && !noColor,
    emoji: tty && !noColor,
    out(line = '') {
      if (pending) pending.push(clean(line));
      else options.stdout.write(`${clean(line)}\n`);
    },
    batch(fn) {
      if (pending) return fn();
      pending = [];
      try {
        fn();
      } finally {
        flush();
        pending = undefined;
      }
    },
    err(line = '') {
      // Keep the order a terminal shows: data collected so far goes out before the diagnostic.
      if (pending) {
        flush();
        pending = [];
      }
      ui.clearProgress();
      options.stderr.write(`${clean(line)}\n`);
    },
    progress(line) {
      if (!errTty) return;
      options.stderr.write(`\r\u001b[2K${clean(line)}`);
      progressShown = true;
    },
    clearProgress() {
      if (progressShown) options.stderr.write('\r\u001b[2K');
      progressShown = false;
    },
    mark(kind) {
      const [emoji, plain, style] = {
        ok: ['✓', '[ok]', 'green'],
        warn: ['⚠️ ', '[!]', 'yellow'],
        info: ['ℹ ', '[i]', 'cyan'],
        fail: ['✗', '[x]', 'red'],
      }[kind] as [string, string, Style];
      return ui.style(style, ui.emoji ? emoji : plain);
    },
    style(style, text) {
      if (!ui.colour) return text;
      // Not a top-level import: `import 'node:util'` costs ~8 ms of start-up, and colour is for TTYs.
      return process.getBuiltinModule('node:util').styleText(style, text, { validateStream: false });
    },
  };
  return ui;
}

/** "5m ago", "2h 3m ago". */
export function ago(iso: string, now = Date.now()): string {
  return `${span(now - Date.parse(iso))} ago`;
}

/**
 * A point in time as text output shows every time: local date and time with how far away it is,
 * "2026-11-24 14:05 (in 3h 55m)" or "2026-11-24 10:05 (5m ago)"; `ended` words a time in the
 * past as an end ("… (ended 5m ago)"). `--json` keeps ISO 8601.
 */
export function moment(iso: string | number, now = Date.now(), options: { ended?: boolean } = {}): string {
  const t = typeof iso === 'number' ? iso : Date.parse(iso);
  if (!Number.isFinite(t)) return safeText(String(iso));
  const d = t - now;
  const rel =
    Math.abs(d) < 1000 ? 'now' : d > 0 ? `in ${span(d)}` : `${options.ended ? 'ended ' : ''}${span(-d)} ago`;
  return `${when(t)} (${rel})`;
}

const ISO_TIME = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})/g;

/**
 * A message from a lower layer as text output shows it: terminal-safe, and any ISO 8601 time in
 * it written as {@link moment} does.
 */
export function humanText(text: string, now = Date.now()): string {
  return safeText(text).replace(ISO_TIME, (iso) => moment(iso, now));
}

/** A duration in words: "45s", "5m", "2h 3m", "3d 4h". */
export function span(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** Local date and time to the second, as a log line starts: "2026-11-24 14:05:09". */
export function stampOf(ms: number): string {
  const d = new Date(ms);
  return `${when(ms)}:${String(d.getSeconds()).padStart(2, '0')}`;
}

/** Local date and time, minute precision: "2026-11-24 14:05". */
export function when(iso: string | number): string {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

const ESCAPE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: escape sequences are what is matched
  /(?:\u001b\[|\u009b)[0-?]*[ -/]*[@-~]|(?:\u001b[\]PX^_]|[\u0090\u0098\u009d-\u009f])[\s\S]*?(?:\u0007|\u001b\\|\u009c|$)|\u001b[ -/]*[0-~]?/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is matched
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is matched
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: our colour codes are what is matched
const SGR = /^\u001b\[[0-9;]*m$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: runs between escape characters
const BETWEEN_ESCAPES = /[^\u001b]+/g;

/**
 * Text from another user, a record or a server made safe for a terminal: escape sequences (CSI,
 * OSC such as a window-title change, DCS…, in their 7-bit and C1 forms) removed, tabs and line
 * breaks turned into spaces (so nothing can start a forged line), every other C0/C1 control and
 * bidirectional override removed.
 */
export function safeText(text: string): string {
  if (!CONTROL.test(text)) return text;
  return text
    .replace(ESCAPE, '')
    .replace(CONTROLS, (c) => (c === '\t' || c === '\n' || c === '\r' ? ' ' : ''));
}

/** One output line made terminal-safe: as {@link safeText}, but our own colour codes (SGR) may stay. */
export function terminalLine(line: string, colour: boolean): string {
  if (!CONTROL.test(line)) return line;
  return line
    .replace(ESCAPE, (seq) => (colour && SGR.test(seq) ? seq : ''))
    .replace(BETWEEN_ESCAPES, (run) => safeText(run));
}

/**
 * One JSON document on one line, safe for a terminal: `JSON.stringify` escapes C0 controls but
 * not DEL, C1 controls or bidirectional overrides, which are escaped here (the parsed value is
 * unchanged).
 */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
