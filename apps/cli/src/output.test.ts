import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createUi } from './output.js';

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
