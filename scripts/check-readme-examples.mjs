#!/usr/bin/env node
// `pnpm check:readme` (part of `pnpm test:all`): every ```ts block of the READMEs is a complete
// program, type-checked with the repository's strict settings and run, as a library user would copy
// it. Each block becomes a file in a throwaway project whose `@oxvcs/*` are the built packages
// (as installed: their `exports`, `dist/` and declarations), is type-checked with `tsc`, then run with
// Node (type stripping) inside a fresh clone of a repository on the development fake server
// (`@oxvcs/oxen-testkit`), with `OXEN_REMOTE` set to that repository's URL, `HOME` and
// `OXENVCS_HOME` in temp folders and the fake `oxen` first on PATH. A block that does not compile,
// throws or exits non-zero fails the check, named by its README and line.
// Usage: node scripts/check-readme-examples.mjs [README.md …]   (default: every README in the tree)
// Needs `pnpm build` first. Everything happens in a temp folder, removed at the end.
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const say = (text) => process.stdout.write(`check-readme: ${text}\n`);

const packages = ['packages', 'apps']
  .flatMap((group) => readdirSync(join(root, group)).map((name) => join(root, group, name)))
  .filter((dir) => existsSync(join(dir, 'package.json')))
  .map((dir) => ({ dir, name: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name }));
const readmes =
  process.argv.length > 2
    ? process.argv.slice(2).map((file) => resolve(file))
    : [join(root, 'README.md'), ...packages.map(({ dir }) => join(dir, 'README.md'))].filter(existsSync);

/** The ```ts blocks of a README, with the line each starts on. */
function examplesOf(file) {
  const blocks = [];
  const lines = readFileSync(file, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*```ts\s*$/.test(lines[i])) continue;
    const start = i + 1;
    const indent = lines[i].match(/^\s*/)[0].length;
    const body = [];
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]); i++) body.push(lines[i].slice(indent));
    blocks.push({ line: start, code: `${body.join('\n')}\n` });
  }
  return blocks;
}

/** Runs a program; resolves with its exit code and output (never rejects). */
const run = (file, args, options) =>
  new Promise((done) => {
    execFile(
      file,
      args,
      { timeout: 300_000, maxBuffer: 16 * 1024 * 1024, ...options },
      (error, stdout, stderr) =>
        done({
          code: error ? (typeof error.code === 'number' ? error.code : (error.signal ?? 1)) : 0,
          output: `${stdout}${stderr}`.trim(),
        }),
    );
  });

const missing = packages.filter(({ dir }) => !existsSync(join(dir, 'dist')));
if (missing.length > 0) {
  process.stderr.write(
    `check-readme: ${missing.map((p) => p.name).join(', ')} not built; run \`pnpm build\` first.\n`,
  );
  process.exit(1);
}
const testkit = await import(pathToFileURL(join(root, 'packages/oxen-testkit/dist/index.js')).href);

const work = mkdtempSync(join(tmpdir(), 'oxvcs-readme-'));
const failures = [];
let server;
let oxen;
try {
  // The throwaway project: `@oxvcs/*` and `@types/node` resolve as they would once installed.
  mkdirSync(join(work, 'node_modules', '@oxvcs'), { recursive: true });
  mkdirSync(join(work, 'node_modules', '@types'), { recursive: true });
  for (const { dir, name } of packages) symlinkSync(dir, join(work, 'node_modules', name), 'dir');
  symlinkSync(
    join(root, 'node_modules', '@types', 'node'),
    join(work, 'node_modules', '@types', 'node'),
    'dir',
  );
  writeFileSync(join(work, 'package.json'), '{ "type": "module", "private": true }\n');
  writeFileSync(
    join(work, 'tsconfig.json'),
    `${JSON.stringify(
      {
        extends: join(root, 'tsconfig.base.json'),
        compilerOptions: {
          noEmit: true,
          declaration: false,
          declarationMap: false,
          allowImportingTsExtensions: true,
        },
        include: ['*.ts'],
      },
      null,
      2,
    )}\n`,
  );

  const examples = readmes.flatMap((file) =>
    examplesOf(file).map((block, index) => ({
      ...block,
      where: `${file.startsWith(root) ? relative(root, file) : file}:${block.line}`,
      file: join(work, `${relative(root, dirname(file)).replace(/[^\w]+/g, '-') || 'root'}-${index + 1}.ts`),
    })),
  );
  for (const example of examples) writeFileSync(example.file, example.code);
  say(`${examples.length} examples from ${readmes.length} READMEs`);
  if (examples.length === 0) throw new Error('no ```ts block found');

  const tsc = await run(
    process.execPath,
    [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', work],
    {
      cwd: work,
    },
  );
  if (tsc.code !== 0) {
    // Name the README line of each error, not the temp file's.
    const byFile = new Map(examples.map((e) => [basename(e.file), e]));
    const text = tsc.output.replace(/([\w.-]+\.ts)\((\d+),(\d+)\)/g, (whole, name, line) => {
      const example = byFile.get(name);
      return example ? `${example.where.replace(/:\d+$/, '')}:${example.line + Number(line)}` : whole;
    });
    failures.push(`type check failed:\n${text}`);
  } else say('type check passed');

  // Node 22.12 strips types behind a flag; 23.6 and later by default.
  const [major, minor] = process.versions.node.split('.').map(Number);
  const strip = major < 23 || (major === 23 && minor < 6) ? ['--experimental-strip-types'] : [];
  server = await testkit.startFakeOxenServer();
  oxen = testkit.createFakeOxenEnv();
  for (const [index, example] of examples.entries()) {
    const name = `example-${index + 1}`;
    await server.createRepo('readme', name);
    const remote = server.repoUrl('readme', name);
    const cwd = await oxen.cloneProject(name, remote);
    const home = join(work, 'homes', name);
    mkdirSync(home, { recursive: true });
    const env = {
      ...oxen.env,
      HOME: home,
      OXENVCS_HOME: join(home, 'oxenvcs'),
      OXEN_REMOTE: remote,
      NODE_NO_WARNINGS: '1',
    };
    const result = await run(process.execPath, [...strip, example.file], { cwd, env });
    if (result.code === 0)
      say(`ran ${example.where}${process.env.CHECK_README_VERBOSE ? `:\n${result.output}` : ''}`);
    else failures.push(`${example.where} exited ${result.code}:\n${result.output}`);
  }
} catch (error) {
  failures.push(error.stack ?? String(error));
} finally {
  await server?.stop();
  oxen?.cleanup();
  rmSync(work, { recursive: true, force: true });
}
for (const failure of failures) process.stderr.write(`check-readme: ${failure}\n`);
if (failures.length > 0) {
  process.stderr.write(
    'check-readme: a README example must compile and run as written; fix the example (or the API).\n',
  );
  process.exitCode = 1;
}
