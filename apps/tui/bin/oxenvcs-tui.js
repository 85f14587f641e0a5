#!/usr/bin/env node
// Entry point of `oxenvcs-tui`. It checks the Node version first, in syntax and APIs every Node with
// ES modules understands, and only then loads the program (main.js), whose code needs Node 22.12
// (require(esm), process.getBuiltinModule…): on an older Node it would fail with a stack trace, or
// worse run half-way. The version is package.json's `engines.node`.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  process.stderr.write(
    `oxenvcs-tui needs Node.js 22.12 or newer, but this is Node ${process.versions.node} (${process.execPath}); install Node 22 LTS or newer (nodejs.org) and run it again.\n`,
  );
  process.exitCode = 1;
} else {
  import('./main.js');
}
