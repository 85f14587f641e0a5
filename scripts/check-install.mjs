#!/usr/bin/env node
// `pnpm check:install` (part of `pnpm test:all`): oxvcs installs like any CLI. Packs every
// publishable workspace package as it would be published (`pnpm pack` turns `workspace:^` and
// `catalog:` into versions), installs the tarballs with `npm install -g` into an empty prefix
// (third-party dependencies from the registry, or npm's cache when offline), then runs what was
// installed: `oxenvcs --version` must be apps/cli's package.json version, `oxenvcs-tui --help`
// must exit 0, and both programs must load all their code from the installed tree.
// Needs `pnpm build` first. Everything happens in a temp folder, removed at the end.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const started = Date.now();
const step = (text) =>
  process.stdout.write(`check-install: ${text} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);

/** Runs a program; resolves to its output, rejects with its output and exit code in the message. */
function run(file, args, options = {}) {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { timeout: 300_000, maxBuffer: 16 * 1024 * 1024, ...options },
      (error, stdout, stderr) => {
        if (error) {
          const code = error.code ?? error.signal;
          reject(new Error(`${[file, ...args].join(' ')} failed (${code}):\n${stderr || stdout}`));
        } else resolve({ stdout, stderr });
      },
    );
  });
}

// npm must not see what pnpm tells the scripts it runs (npm_config_*, npm_package_*…).
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm|pnpm)_/i.test(k)));
// The installed programs run with this Node (>= 22.12), as `#!/usr/bin/env node` finds it first.
const userEnv = { ...cleanEnv, PATH: `${dirname(process.execPath)}${delimiter}${cleanEnv.PATH ?? ''}` };

const packages = ['packages', 'apps']
  .flatMap((group) => readdirSync(join(root, group)).map((name) => join(root, group, name)))
  .filter((dir) => existsSync(join(dir, 'package.json')))
  .map((dir) => ({ dir, pkg: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }))
  .filter(({ pkg }) => !pkg.private);
const missing = packages.filter(({ dir }) => !existsSync(join(dir, 'dist')));
if (missing.length > 0) {
  process.stderr.write(
    `check-install: ${missing.map(({ pkg }) => pkg.name).join(', ')} not built; run \`pnpm build\` first.\n`,
  );
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), 'oxvcs-install-'));
const packs = join(work, 'packs');
const prefix = join(work, 'prefix');
const home = join(work, 'home');
for (const dir of [packs, prefix, home]) mkdirSync(dir);
try {
  await Promise.all(
    packages.map(({ dir }) =>
      run('pnpm', ['pack', '--pack-destination', packs], { cwd: dir, env: cleanEnv }),
    ),
  );
  const tarballs = readdirSync(packs).filter((f) => f.endsWith('.tgz'));
  if (tarballs.length !== packages.length)
    throw new Error(`expected ${packages.length} tarballs in ${packs}, found ${tarballs.join(', ')}`);
  step(`packed ${packages.map(({ pkg }) => pkg.name).join(', ')}`);

  // All tarballs in one command: each is installed as a global package, and the internal
  // dependencies between them resolve to one another, never to the registry.
  await run(
    'npm',
    [
      'install',
      '--global',
      '--prefix',
      prefix,
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      ...tarballs.map((f) => join(packs, f)),
    ],
    { cwd: work, env: cleanEnv },
  );
  step(`installed into the empty prefix ${prefix}`);

  const bin = (name) => join(prefix, 'bin', name);
  const env = { ...userEnv, HOME: home, OXENVCS_HOME: join(home, 'state'), NO_COLOR: '1' };
  const cliVersion = JSON.parse(readFileSync(join(root, 'apps/cli/package.json'), 'utf8')).version;
  const version = (await run(bin('oxenvcs'), ['--version'], { cwd: home, env })).stdout.trim();
  if (version !== cliVersion)
    throw new Error(`oxenvcs --version printed "${version}", but apps/cli/package.json says ${cliVersion}`);
  const help = (await run(bin('oxenvcs-tui'), ['--help'], { cwd: home, env })).stdout;
  if (!help.startsWith('Usage: oxenvcs-tui')) throw new Error(`oxenvcs-tui --help printed:\n${help}`);
  // Past --version and --help: a command that loads the engine from the installed tree (no
  // repository here, so it must say so), and the TUI's modules with all their dependencies.
  const status = await run(bin('oxenvcs'), ['lock', 'status'], { cwd: home, env }).then(
    () => {
      throw new Error('oxenvcs lock status outside a repository exited 0');
    },
    (error) => error.message,
  );
  if (!status.includes('No Oxen repository')) throw new Error(`oxenvcs lock status: ${status}`);
  const tui = join(prefix, 'lib', 'node_modules', '@oxvcs', 'tui', 'dist', 'index.js');
  await run(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(tui)})`], {
    cwd: home,
    env,
  });
  step(`oxenvcs --version is ${version}; oxenvcs-tui --help exits 0; both load from the install`);

  // What a library user gets: no source map pointing at sources that are not shipped, and every
  // library package loads from CommonJS too (require of ES modules, Node >= 22.12).
  const installed = join(prefix, 'lib', 'node_modules', '@oxvcs');
  const shipped = readdirSync(installed, { recursive: true, withFileTypes: true })
    .filter(
      (entry) =>
        entry.isFile() &&
        !join(entry.parentPath, entry.name).includes(`${sep}node_modules${sep}`, installed.length),
    )
    .map((entry) => join(entry.parentPath, entry.name));
  const maps = shipped.filter((file) => file.endsWith('.map'));
  const mapped = shipped.filter(
    (file) => /\.[cm]?js$|\.d\.ts$/.test(file) && readFileSync(file, 'utf8').includes('sourceMappingURL='),
  );
  if (maps.length + mapped.length > 0)
    throw new Error(
      `source maps are shipped without their sources: ${[...maps, ...mapped].slice(0, 5).join(', ')}`,
    );
  const libraries = packages.filter(({ pkg }) => !pkg.bin).map(({ pkg }) => pkg.name);
  const required = await run(
    process.execPath,
    [
      '-e',
      // A CommonJS module beside the installed packages, resolving them by name through their exports.
      `const load = require('node:module').createRequire(${JSON.stringify(join(prefix, 'lib', 'cjs.js'))});
       for (const name of ${JSON.stringify(libraries)}) if (typeof load(name) !== 'object') throw new Error(name);`,
    ],
    { cwd: home, env },
  );
  if (required.stderr.includes('Error'))
    throw new Error(`require() of the libraries printed:\n${required.stderr}`);
  step(`${shipped.length} files installed, no source maps; require() loads ${libraries.join(', ')}`);
} catch (error) {
  process.stderr.write(`check-install: ${error.message}\n`);
  process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
