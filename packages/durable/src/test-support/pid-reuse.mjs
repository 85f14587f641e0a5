// Run in a private pid namespace (see process-identity.test.ts): starts a process, keeps its
// identity, kills it, then makes the kernel give its pid to a new process (ns_last_pid), and
// prints one JSON line with what the identity functions say about the old record.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';

const { checkProcess, identify, isRunning, signalProcess } = await import('../process-identity.ts');

const sleeper = () => spawn('sleep', ['1000'], { stdio: 'ignore' });
const ended = (child) => new Promise((resolve) => child.once('exit', resolve));

const first = sleeper();
const recorded = identify(first.pid);
const before = checkProcess(recorded);
first.kill('SIGKILL');
await ended(first);
// The next pid the kernel hands out in this namespace is the one just freed.
writeFileSync('/proc/sys/kernel/ns_last_pid', String(first.pid - 1));
const second = sleeper();
const reused = second.pid === first.pid;
const result = {
  reused,
  before,
  after: checkProcess(recorded),
  running: isRunning(recorded),
  signalled: signalProcess(recorded, 'SIGTERM'),
  pidOnly: isRunning({ pid: recorded.pid }),
};
await new Promise((resolve) => setTimeout(resolve, 50));
result.secondAlive = second.exitCode === null && second.signalCode === null;
second.kill('SIGKILL');
process.stdout.write(`${JSON.stringify(result)}\n`);
