#!/usr/bin/env node
// Entry point of `oxenvcs`: the only place that sets the process exit code.
import { runCli } from '../dist/index.js';

const code = await runCli(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  colorDepth: process.stdout.isTTY ? process.stdout.getColorDepth() : 1,
  cwd: process.cwd(),
});
process.exitCode = code;
