#!/usr/bin/env node
// `pnpm demo`: the main job, end to end, against the bundled development server (a fake of
// oxen-server; see packages/oxen-testkit). Start it, take the lock, lose the network, keep
// working (push and renew are queued), come back, sync, and show the result.
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const SERVER = join(root, 'packages/oxen-testkit/dist/bin/server.js');
const CLI = join(root, 'apps/cli/bin/oxenvcs.js');
const work = mkdtempSync(join(tmpdir(), 'oxenvcs-demo-'));
const env = {
  ...process.env,
  PATH: `${join(root, 'packages/oxen-testkit/bin')}${delimiter}${process.env.PATH}`,
  HOME: join(work, 'home'),
  OXEN_CONFIG_DIR: join(work, 'oxen-config'),
  OXENVCS_HOME: join(work, 'oxenvcs'),
  OXENVCS_HOLDER: 'ada@studio-laptop',
  OXENVCS_CONNECTIVITY_TIMEOUT_MS: '1500',
  OXENVCS_CONNECTIVITY_CACHE_SECONDS: '0',
};
mkdirSync(env.HOME, { recursive: true });
const bold = process.stdout.isTTY && !process.env.NO_COLOR;
const say = (text) => process.stdout.write(bold ? `\n\u001b[1m# ${text}\u001b[0m\n` : `\n# ${text}\n`);
/** An argument as a shell would need it typed (quoted as it would be pasted; the programs are named by their bin names, see the README's Quickstart). */
const shellWord = (a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`);

const run = (cmd, args, cwd, expect = [0]) =>
  new Promise((resolve, reject) => {
    process.stdout.write(
      `$ ${cmd === CLI ? 'oxenvcs' : cmd === SERVER ? 'oxen-fake-server' : cmd} ${args.map(shellWord).join(' ')}\n`,
    );
    const file = cmd === CLI || cmd === SERVER ? process.execPath : cmd;
    const argv = cmd === CLI || cmd === SERVER ? [cmd, ...args] : args;
    execFile(file, argv, { cwd, env }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      process.stdout.write(stdout);
      process.stdout.write(stderr);
      if (code !== 0) process.stdout.write(`(exit ${code})\n`);
      if (!expect.includes(code))
        reject(new Error(`${args.join(' ')} exited ${code}, expected ${expect.join(' or ')}`));
      else resolve({ code, stdout });
    });
  });

let server;
try {
  say('Start the bundled development server (a fake oxen-server, on loopback)');
  server = spawn(
    process.execPath,
    [SERVER, '--port', '0', '--control-port', '0', '--repo', 'studio/my-song'],
    { env, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const banner = await new Promise((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (c) => {
      out += c;
      if (/repository: /.test(out)) resolve(out);
    });
    server.once('exit', (code) => reject(new Error(`the development server exited (${code})`)));
  });
  process.stdout.write(banner);
  const repoUrl = /repository: (\S+)/.exec(banner)[1];
  const control = /control: (\S+)/.exec(banner)[1];

  say('A producer clones the project');
  const dir = join(work, 'MySong');
  mkdirSync(dir);
  await run('oxen', ['config', '--name', 'Ada', '--email', 'ada@example.com'], work);
  await run('oxen', ['init'], dir);
  await run('oxen', ['config', '--set-remote', 'origin', repoUrl], dir);
  await run('oxen', ['pull', 'origin', 'main'], dir);

  say('Take the exclusive lock before opening the project in Logic Pro');
  await run(CLI, ['lock', 'acquire', '--timeout', '4', '--comment', 'vocal comping'], dir);

  say('The café Wi-Fi drops');
  await run(SERVER, ['fault', 'offline', '--control', control], work);

  say('Work goes on: commit a take, push and renew — both are queued (exit 75), nothing is lost');
  writeFileSync(join(dir, 'Vocals take 3.wav'), 'RIFF....WAVEfmt take 3');
  await run('oxen', ['add', 'Vocals take 3.wav'], dir);
  await run('oxen', ['commit', '-m', 'Vocals: take 3'], dir);
  await run(CLI, ['push'], dir, [75]);
  await run(CLI, ['lock', 'renew'], dir, [75]);
  await run(CLI, ['queue', 'status'], dir);
  await run(CLI, ['queue', 'sync', '--dry-run'], dir);

  say('The network comes back');
  await run(SERVER, ['faults', 'clear', '--control', control], work);
  await run(CLI, ['queue', 'sync'], dir);

  say('The result: the lock is still ours and the take is on the remote');
  await run(CLI, ['lock', 'status'], dir);
  await run('oxen', ['log', '-n', '1'], dir);
  await run('oxen', ['branch', '-r', 'origin'], dir);

  say('Done for the day: release the lock');
  await run(CLI, ['lock', 'release'], dir);
  await run(CLI, ['queue', 'clear'], dir);
  say('Demo complete.');
} catch (error) {
  process.stderr.write(`\ndemo failed: ${error.message}\n`);
  process.exitCode = 1;
} finally {
  server?.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}
