import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The built `oxenvcs` executable: help is what a user sees first.
const bin = fileURLToPath(new URL('../bin/oxenvcs.js', import.meta.url));
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};
const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
let dir: string;

const run = async (args: string[]) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args], {
      cwd: dir,
      env: { ...process.env, OXENVCS_HOME: dir, NO_COLOR: '1' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'oxvcs-help-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('oxenvcs help (built binary)', () => {
  it('--help names every option value and lists the global options once', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('#0');
    expect(r.stdout).toContain('oxenvcs lock acquire [--timeout HOURS] [--comment TEXT]');
    expect(r.stdout).toContain('oxenvcs lock break [--force] [--reason TEXT]');
    expect(r.stdout).toMatch(/Global options[^\n]*\n\n {2}--json {2,}Print one JSON object/);
    expect(r.stdout).toMatch(/\n {2}--project DIR {2,}Project folder/);
    expect(r.stdout).toMatch(/\n {2}--remote URL {2,}Remote URL/);
    for (const option of ['--json', '--project DIR', '--remote URL', '--verbose', '--no-auto-sync'])
      expect(r.stdout.split(option).length - 1).toBe(1);
    expect(r.stdout).toContain('75 queued for later');
  });

  it('help and README agree on the global options (--no-auto-sync, not --auto-sync)', async () => {
    const r = await run(['--help']);
    const documented = /Global options on every command: ([^.]*)/.exec(readme)?.[1] ?? '';
    for (const option of ['--json', '--project', '--remote', '--verbose', '--no-auto-sync']) {
      expect(documented).toContain(`\`${option}`);
      expect(r.stdout).toContain(`  ${option}`);
    }
    expect(r.stdout).not.toMatch(/ --auto-sync/);
  });

  it('`oxenvcs help` prints the overview (exit 0), as --help does', async () => {
    const r = await run(['help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe((await run(['--help'])).stdout);
    expect(r.stdout + r.stderr).not.toContain('Command not found');
  });

  it.each([
    [['lock'], 'lock', ['lock acquire', 'lock heartbeat'], ['queue sync', 'auth login']],
    [['queue'], 'queue', ['queue status', 'queue retry <ID|PREFIX>'], ['lock acquire']],
    [['auth'], 'auth', ['auth login', 'auth logout'], ['queue sync']],
    [['lock', '--help'], 'lock', ['lock renew [--timeout HOURS]'], ['push']],
    [['help', 'queue'], 'queue', ['queue clear [--all]'], ['lock list']],
  ])('`oxenvcs %j` prints that group’s commands (exit 0)', async (args, group, shown, hidden) => {
    const r = await run(args);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`$ oxenvcs ${group} <command>`);
    for (const line of shown) expect(r.stdout).toContain(`\n  oxenvcs ${line}`);
    for (const line of hidden) expect(r.stdout).not.toContain(`\n  oxenvcs ${line}`);
    expect(r.stdout + r.stderr).not.toContain('Command not found');
    expect(r.stdout).not.toContain('#0');
  });

  it('`oxenvcs help lock acquire` is that command’s help, options named', async () => {
    const r = await run(['help', 'lock', 'acquire']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Take the exclusive lock on the project');
    expect(r.stdout).toMatch(/--timeout HOURS {2,}Lease length in hours, from 0\.0167 \(1 minute\) to 720/);
    expect(r.stdout).toMatch(/--comment TEXT {2,}A note others see/);
    expect(r.stdout).not.toContain('#0');
  });

  it('an unknown command is a usage error (exit 2) whose suggestions name values and skip global options', async () => {
    const r = await run(['lock', 'grab']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('oxenvcs lock acquire [--timeout HOURS] [--comment TEXT]');
    expect(r.stderr).not.toContain('#0');
    expect(r.stderr).not.toContain('[--json]');
    const help = await run(['help', 'grab']);
    expect(help.code).toBe(2);
    expect(help.stderr).toBe('Unknown command "grab"; run `oxenvcs help` for the list of commands.\n');
  });

  it.each([
    [['lock', 'acquire', '--timeout', 'abc', '--json'], '--timeout must be a positive number of hours'],
    [['lock', 'renew', '--timeout', '0.001', '--json'], '--timeout must be at least 0.0167 hours (1 minute)'],
    [['lock', 'break', '--reason', '', '--json'], '--reason must not be empty'],
    [
      ['lock', '--json'],
      '`oxenvcs lock` needs a command: acquire, release, renew, status, list, break, heartbeat.',
    ],
    [['lock', 'acquire', '--timeout', '--json'], ''],
  ])('--json usage error %j → one JSON object on stdout, exit 2', async (args, message) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    const body = JSON.parse(r.stdout);
    expect(body).toMatchObject({ ok: false, exitCode: 2, error: { code: 'USAGE' } });
    expect(body.error.message).toContain(message);
    expect(r.stderr).toBe('');
  });

  it('--version prints package.json’s version', async () => {
    const r = await run(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${pkg.version}\n`);
  });

  it('--version follows package.json through a build, as after `changeset version` and `pnpm build`', async () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const copy = join(dir, 'cli-copy');
    cpSync(join(root, 'dist'), join(copy, 'dist'), {
      recursive: true,
      filter: (src) => !src.includes(`${join('dist', 'bundle')}`),
    });
    cpSync(join(root, 'bin'), join(copy, 'bin'), { recursive: true });
    cpSync(join(root, 'rolldown.config.mjs'), join(copy, 'rolldown.config.mjs'));
    writeFileSync(join(copy, 'package.json'), JSON.stringify({ ...pkg, version: '9.8.7-bumped' }));
    symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'), 'dir');
    await promisify(execFile)(
      process.execPath,
      [join(root, 'node_modules', 'rolldown', 'bin', 'cli.mjs'), '-c', 'rolldown.config.mjs'],
      { cwd: copy },
    );
    const { stdout } = await promisify(execFile)(process.execPath, [
      join(copy, 'bin', 'oxenvcs.js'),
      '--version',
    ]);
    expect(stdout).toBe('9.8.7-bumped\n');
  });
});
