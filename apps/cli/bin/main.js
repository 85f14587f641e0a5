// The program behind `oxenvcs` (bin/oxenvcs.js loads it once the Node version is checked): the only
// place that sets the process exit code.
import module from 'node:module';

// Reuse V8's compiled code across runs (Node >= 22.1): a short-lived CLI spends most of its
// start-up compiling; the cache lives in the OS temp dir and is safe to delete.
module.enableCompileCache?.();
// A reader that goes away (`oxenvcs queue status | head`) must not crash a command half-way
// through a lock operation: further output is dropped and the command finishes with its own code.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code !== 'EPIPE') throw error;
  });
}
// dist/bundle is dist/ bundled by rolldown (see rolldown.config.mjs): faster to start.
const { runCli } = await import('../dist/bundle/oxenvcs.js');

const code = await runCli(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  colorDepth: process.stdout.isTTY ? process.stdout.getColorDepth() : 1,
  cwd: process.cwd(),
});
process.exitCode = code;
