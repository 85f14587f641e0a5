import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createUi, humanText, jsonLine, moment, safeText, terminalLine } from './output.js';

/** stdout and stderr into one transcript, as a terminal shows them, counting writes. */
function terminal() {
  const transcript: string[] = [];
  const writes = { out: 0, err: 0 };
  const sink = (name: 'out' | 'err') =>
    new Writable({
      write(chunk, _encoding, done) {
        writes[name] += 1;
        transcript.push(`${name}:${String(chunk)}`);
        done();
      },
    });
  const ui = createUi({ stdout: sink('out'), stderr: sink('err'), env: {}, json: false, verbose: false });
  return { ui, transcript, writes };
}

describe('terminal output', () => {
  it('a batch of 1,000 lines is one write', () => {
    const { ui, writes, transcript } = terminal();
    ui.batch(() => {
      for (let i = 0; i < 1000; i++) ui.out(`line ${i}`);
    });
    expect(writes.out).toBe(1);
    expect(transcript[0]?.split('\n')).toHaveLength(1001);
  });

  it('a diagnostic inside a batch still comes after the data printed before it', () => {
    const { ui, transcript } = terminal();
    ui.batch(() => {
      ui.out('Queued: Acquire lock');
      ui.err('Lock will be acquired when network is available');
      ui.out('Entry ID: 1234abcd');
    });
    expect(transcript).toEqual([
      'out:Queued: Acquire lock\n',
      'err:Lock will be acquired when network is available\n',
      'out:Entry ID: 1234abcd\n',
    ]);
  });

  it('outside a batch every line goes out at once (heartbeat, sync progress)', () => {
    const { ui, writes } = terminal();
    ui.out('one');
    ui.out('two');
    expect(writes.out).toBe(2);
  });
});

describe('terminal-safe text', () => {
  const hostile =
    'x\u001b]0;pwned\u0007\u001b[2J\r[ok] forged\u009b31m\u001bP1;2q\u001b\\\u009d8;;http://evil\u009c\n[ok] forged\u202e\u0000!';

  it('removes escape sequences (7-bit and C1), controls and bidi overrides; breaks become spaces', () => {
    expect(safeText(hostile)).toBe('x [ok] forged [ok] forged!');
    expect(safeText('plain text, ünïcode ✓')).toBe('plain text, ünïcode ✓');
    expect(safeText('tab\there')).toBe('tab here');
    expect(safeText('dangling \u001b[')).toBe('dangling ');
  });

  it('every output line keeps our own colours only; a hostile string cannot start a line', () => {
    const green = '\u001b[32m✓\u001b[39m';
    expect(terminalLine(`${green} Holder: ${hostile}`, true)).toBe(
      `${green} Holder: x [ok] forged [ok] forged!`,
    );
    expect(terminalLine(`${green} done`, false)).toBe('✓ done');
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _e, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const ui = createUi({ stdout: sink, stderr: sink, env: {}, json: false, verbose: false });
    ui.out(`Comment: ${hostile}`);
    ui.err(`Reason: ${hostile}`);
    for (const line of lines) {
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is checked
      expect(line).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
      expect(line.split('\n').slice(1).join('')).toBe('');
    }
  });

  it('JSON escapes what JSON.stringify leaves raw (DEL, C1, bidi), and parses back to the same value', () => {
    const value = { text: hostile, n: 1 };
    const line = jsonLine(value);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is checked
    expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
    expect(JSON.parse(line)).toEqual(value);
  });
});

describe('times in text output', () => {
  const now = Date.parse('2026-11-24T12:00:00Z');
  const at = (ms: number) => new Date(now + ms).toISOString();

  it('local time with how far away it is; a past end says "ended … ago", never "in 0s"', () => {
    expect(moment(at(4 * 3_600_000), now)).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d \(in 4h 0m\)$/);
    expect(moment(at(-5 * 60_000), now)).toMatch(/ \(5m ago\)$/);
    expect(moment(at(-5 * 60_000), now, { ended: true })).toMatch(/ \(ended 5m ago\)$/);
    expect(moment(at(200), now)).toMatch(/ \(now\)$/);
  });

  it('ISO times inside a message from a lower layer read as local times', () => {
    const text = humanText(`held by bob since ${at(-60_000)} until ${at(3_600_000)}; wait.`, now);
    expect(text).toMatch(
      /^held by bob since \d{4}-\d\d-\d\d \d\d:\d\d \(1m ago\) until \d{4}-\d\d-\d\d \d\d:\d\d \(in 1h 0m\); wait\.$/,
    );
  });
});
