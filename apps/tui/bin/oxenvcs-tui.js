#!/usr/bin/env node
// Entry point of `oxenvcs-tui`: the only place that sets the process exit code.
import { parseArgs } from 'node:util';

if (!process.stdin.isTTY || !process.stdout.isTTY) {
  process.stderr.write(
    'oxenvcs-tui needs an interactive terminal; for scripts and pipes use the oxenvcs CLI (e.g. `oxenvcs queue status --json`).\n',
  );
  process.exitCode = 2;
} else {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        project: { type: 'string' },
        remote: { type: 'string' },
        'debug-log': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    process.stderr.write(`oxenvcs-tui: ${error.message}; see oxenvcs-tui --help.\n`);
    process.exitCode = 2;
  }
  if (values?.help) {
    process.stdout.write(
      'Usage: oxenvcs-tui [--project DIR] [--remote URL] [--debug-log FILE]\nA full-screen queue browser and lock console. Press ? inside for keys.\n',
    );
  } else if (values) {
    const { startTui } = await import('../dist/index.js');
    try {
      await startTui({
        cwd: process.cwd(),
        env: process.env,
        ...(values.project ? { project: values.project } : {}),
        ...(values.remote ? { remote: values.remote } : {}),
        ...(values['debug-log'] ? { debugLog: values['debug-log'] } : {}),
      });
    } catch (error) {
      process.stderr.write(`oxenvcs-tui: ${error.message}\n`);
      process.exitCode = 1;
    }
  }
}
