// Run in a private pid namespace (see process-identity.test.ts): starts a process, keeps its
// identity, kills it, then makes the kernel give its pid to a new process (ns_last_pid), and
// prints one JSON line with what the identity functions say about the old record.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const { checkProcess, identify, isRunning, signalProcess } = await import('../process-identity.ts');

const sleeper = () => spawn('sleep', ['1000'], { stdio: 'ignore' });
const ended = (child) => new Promise((resolve) => child.once('exit', resolve));

const first = sleeper();
const recorded = identify(first.pid);
const before = checkProcess(recorded);
// The kernel stamps a start in clock ticks (1/100 s): two processes that start in the same tick
// under the same pid cannot be told apart. A real reuse comes after the pid space wrapped, ticks
// later; this one is forced at once, so the first process is let outlive its own tick first.
const startTick = Number(recorded.start.split(':').pop());
const uptimeTicks = () => Math.floor(Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 100);
while (uptimeTicks() <= startTick + 1) await new Promise((resolve) => setTimeout(resolve, 5));
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
