import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

// scripts/check-readme-examples.mjs (`pnpm check:readme`, in `pnpm test:all`) fails on a README
// example that does not compile or does not run, naming the README and line, and passes one that
// does, run against the development fake server.

const checker = fileURLToPath(new URL('../scripts/check-readme-examples.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'oxvcs-readme-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const readme = (name: string, code: string) => {
  mkdirSync(join(dir, name));
  const file = join(dir, name, 'README.md');
  writeFileSync(file, `# ${name}\n\nText.\n\n\`\`\`ts\n${code}\n\`\`\`\n`);
  return file;
};

const check = (...files: string[]) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [checker, ...files], (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });

it('passes examples that compile and run, and names the line of each that does not', async () => {
  const good = readme(
    'good',
    [
      "import { createOxenHub } from '@oxvcs/oxen';",
      "const hub = createOxenHub({ remoteUrl: process.env.OXEN_REMOTE ?? 'http://localhost:3000/a/b' });",
      "console.log((await hub.getBranch('main')).name);",
    ].join('\n'),
  );
  const undefinedName = readme(
    'undefined-name',
    "import { retry } from '@oxvcs/retry';\nawait retry(() => hub.ping(), {});",
  );
  const throws = readme(
    'throws',
    "import { LOCK_POLICY } from '@oxvcs/retry';\nif (LOCK_POLICY) throw new Error('boom');",
  );
  const run = await check(good, undefinedName, throws);
  expect(run.code).toBe(1);
  expect(run.stdout).toContain(`ran ${good}:5`);
  expect(run.stderr).toContain(`${undefinedName}:7: error TS2304: Cannot find name 'hub'`);
  expect(run.stderr).toMatch(new RegExp(`${throws}:5 exited 1:[\\s\\S]*Error: boom`));
  expect(run.stderr).not.toContain(good);
});
