// The program behind `oxenvcs-tui` (bin/oxenvcs-tui.js loads it once the Node version is checked): the only
// place that sets the process exit code.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const USAGE = `Usage: oxenvcs-tui [--project DIR] [--remote URL] [--no-auto-sync] [--debug-log FILE]

A full-screen queue browser and lock console for oxvcs. Press ? inside for the keys.

Options:
  --project DIR     Project folder (default: the repository around the working directory)
  --remote URL      Remote URL to use instead of the repository's
  --no-auto-sync    Sync only when you press s (default: config queue.auto_sync syncs when the network returns)
  --debug-log FILE  Append debug lines to FILE (never to the terminal)
  -h, --help        Show this help
  -v, --version     Show the version

It needs an interactive terminal; for scripts use the oxenvcs CLI (e.g. \`oxenvcs queue status --json\`).
`;

let values;
try {
  ({ values } = parseArgs({
    options: {
      project: { type: 'string' },
      remote: { type: 'string' },
      'debug-log': { type: 'string' },
      'no-auto-sync': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  }));
} catch (error) {
  process.stderr.write(`oxenvcs-tui: ${error.message}; see oxenvcs-tui --help.\n`);
  process.exitCode = 2;
}
// Help and version work anywhere (a pipe, CI, an install check); only the screen needs a terminal.
if (values?.help) process.stdout.write(USAGE);
else if (values?.version)
  process.stdout.write(
    `${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`,
  );
else if (values && (!process.stdin.isTTY || !process.stdout.isTTY)) {
  process.stderr.write(
    'oxenvcs-tui needs an interactive terminal; for scripts and pipes use the oxenvcs CLI (e.g. `oxenvcs queue status --json`).\n',
  );
  process.exitCode = 2;
} else if (values) {
  const { startTui } = await import('../dist/index.js');
  try {
    await startTui({
      cwd: process.cwd(),
      env: process.env,
      ...(values.project ? { project: values.project } : {}),
      ...(values.remote ? { remote: values.remote } : {}),
      ...(values['debug-log'] ? { debugLog: values['debug-log'] } : {}),
      ...(values['no-auto-sync'] ? { noAutoSync: true } : {}),
    });
  } catch (error) {
    process.stderr.write(`oxenvcs-tui: ${error.message}\n`);
    process.exitCode = 1;
  }
}
