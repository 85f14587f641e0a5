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
  const ui: Ui = {
    json: options.json,
    verbose: options.verbose,
    tty,
    colour: tty && !noColor,
    emoji: tty && !noColor,
    out(line = '') {
      if (pending) pending.push(line);
      else options.stdout.write(`${line}\n`);
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
      options.stderr.write(`${line}\n`);
    },
    progress(line) {
      if (!errTty) return;
      options.stderr.write(`\r\u001b[2K${line}`);
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

/** "5m ago", "2h 3m". */
export function ago(iso: string, now = Date.now()): string {
  return `${span(now - Date.parse(iso))} ago`;
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

/** Local date and time, minute precision: "2026-11-24 14:05". */
export function when(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** The short id shown for an entry: the last 8 characters of its ULID, lower case. */
export const shortId = (id: string) => id.slice(-8).toLowerCase();
