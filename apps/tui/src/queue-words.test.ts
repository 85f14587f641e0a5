import { QueueError } from '@oxvcs/engine';
import { describe, expect, it } from 'vitest';
import { queueErrorText } from './queue-words.js';

describe('queue failures in the TUI’s words', () => {
  it('says who keeps the queue file busy, and how to free an entry held by a stopped sync', () => {
    const busy = new QueueError('LOCK_TIMEOUT', {
      problem: 'held-here',
      file: '/s/queue.json',
      waitedMs: 15_200,
      holderPid: 41,
      holderHost: 'mac',
      holderCommand: 'oxenvcs queue sync',
    });
    expect(queueErrorText(busy)).toBe(
      'The queue file was kept busy for 15 s by process 41 (oxenvcs queue sync); try again in a moment.',
    );
    const held = new QueueError('INVALID_STATE', {
      problem: 'stopped',
      entryId: '01KB2Y3ZJ8T3V9Q5X7W1M0P4RS',
      runnerPid: 99,
    });
    expect(queueErrorText(held)).toBe(
      'Entry w1m0p4rs is held by process 99, which is stopped: resume it (kill -CONT 99) or end it.',
    );
    expect(queueErrorText(new QueueError('NOT_WRITABLE', { file: '/s/queue.json', errno: 'ENOSPC' }))).toBe(
      'Cannot write the queue file /s/queue.json: the disk is full.',
    );
    expect(queueErrorText(new Error('other'))).toBeUndefined();
  });
});
