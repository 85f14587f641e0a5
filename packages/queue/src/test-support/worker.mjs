// Child process for the queue's cross-process and crash tests. Uses the built package.
// argv: mode file count tag   mode = enqueue | enqueue-forever | run-forever
import { createQueue } from '../../dist/index.js';

const [mode, file, countText, tag] = process.argv.slice(2);
const queue = createQueue({ file, lockWaitMs: 60_000 });
const op = (i) => ({
  kind: 'pull',
  projectDir: `/p/${tag}-${i % 7}`,
  remote: 'http://127.0.0.1:1/ns/r',
  branch: `b${i}`,
});

if (mode === 'enqueue') {
  for (let i = 0; i < Number(countText); i++) {
    await queue.enqueue({ operation: op(i), idempotencyKey: `${tag}:${i}` });
  }
  process.stdout.write('finished\n');
} else if (mode === 'enqueue-forever') {
  for (let i = 0; ; i++) {
    const { entry } = await queue.enqueue({ operation: op(i), idempotencyKey: `${tag}:${i}` });
    process.stdout.write(`ack ${entry.idempotencyKey}\n`);
  }
}
