#!/usr/bin/env node
// `pnpm test:all` (what CI runs, through scripts/bootstrap): builds, then runs every check, each to
// its end whatever the others said, so a failing test never hides the install check (or the other
// way round), and closes with one line per check. Exits 1 when any check failed. A failed build
// stops it (every check needs the build); so does Ctrl-C.
import { spawnSync } from 'node:child_process';

const checks = [
  ['build', ['build']],
  ['lint', ['lint']],
  ['typecheck', ['typecheck']],
  ['install check', ['check:install']],
  ['README examples', ['check:readme']],
  ['tests', ['exec', 'vitest', 'run']],
];

const results = [];
for (const [name, args] of checks) {
  const started = Date.now();
  process.stdout.write(`\ntest:all: ${name} (pnpm ${args.join(' ')})\n`);
  const run = spawnSync('pnpm', args, { stdio: 'inherit' });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const ok = run.status === 0;
  const why = run.error ? run.error.message : run.signal ? `killed by ${run.signal}` : `exit ${run.status}`;
  results.push(`${ok ? 'ok  ' : 'FAIL'} ${name} (${seconds} s${ok ? '' : `, ${why}`})`);
  if (run.signal === 'SIGINT' || run.signal === 'SIGTERM') break;
  if (name === 'build' && !ok) break;
}
process.stdout.write(`\ntest:all:\n${results.map((line) => `  ${line}\n`).join('')}`);
process.exitCode = results.some((line) => line.startsWith('FAIL')) || results.length < checks.length ? 1 : 0;
