// The floor of any wrapper around `oxen push` that is a Node program and reads the lock table
// first: start Node, read the remote from .oxen/config.toml, make one GET to it, start
// `oxen push origin main` and wait for it. No checks, no wording, no queue: the bench times it
// beside `oxenvcs push` and a bare `oxen push` (scripts/bench-push-thin.mjs).
const fs = process.getBuiltinModule('node:fs');
const http = process.getBuiltinModule('node:http');
const { spawn } = process.getBuiltinModule('node:child_process');

const url = new URL(/^\s*url\s*=\s*"([^"]+)"/m.exec(fs.readFileSync('.oxen/config.toml', 'utf8'))[1]);
http.get(`${url.origin}/api/repos${url.pathname}/branches/oxvcs-locks`, (response) => {
  response.resume();
  response.on('end', () => {
    spawn('oxen', ['push', 'origin', 'main'], { stdio: 'inherit' }).on('exit', (code) => {
      process.exitCode = code ?? 1;
    });
  });
});
