import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fakeOxenBinDir } from '@oxvcs/oxen-testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { holderIdentity, resolveProject } from './project.js';

let oxenConfig: string;
beforeEach(() => {
  oxenConfig = mkdtempSync(join(tmpdir(), 'oxvcs-holder-'));
});
afterEach(() => rmSync(oxenConfig, { recursive: true, force: true }));

const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  USER: 'root',
  OXEN_CONFIG_DIR: oxenConfig,
  ...extra,
});
const userAtHost = `root@${hostname().split('.')[0]}`;

describe('holderIdentity', () => {
  it('is the name given to `oxen config --name` when there is one', () => {
    execFileSync(
      join(fakeOxenBinDir(), 'oxen'),
      ['config', '--name', 'Ada Lovelace', '--email', 'ada@example.com'],
      {
        env: { ...process.env, OXEN_CONFIG_DIR: oxenConfig },
      },
    );
    expect(holderIdentity(env())).toBe('Ada Lovelace');
  });

  it('is user@host when Oxen has no name (no file, no name in it, an unreadable file)', () => {
    expect(holderIdentity(env())).toBe(userAtHost);
    writeFileSync(join(oxenConfig, 'user_config.toml'), 'email = "ada@example.com"\n');
    expect(holderIdentity(env())).toBe(userAtHost);
    writeFileSync(join(oxenConfig, 'user_config.toml'), 'name = \n');
    expect(holderIdentity(env())).toBe(userAtHost);
  });

  it('passes over an Oxen name unfit for a lock record', () => {
    writeFileSync(join(oxenConfig, 'user_config.toml'), 'name = "Ada\\u001b[31m"\n');
    expect(holderIdentity(env())).toBe(userAtHost);
  });

  it('OXENVCS_HOLDER comes first', () => {
    writeFileSync(join(oxenConfig, 'user_config.toml'), 'name = "Ada"\n');
    expect(holderIdentity(env({ OXENVCS_HOLDER: 'Ada (studio Mac)' }))).toBe('Ada (studio Mac)');
  });
});

describe('a refused project folder or holder name: a code and facts, no words of an app', () => {
  /** What `fn` threw, as the facts an app reads. */
  const thrown = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      return error as Record<string, unknown>;
    }
    throw new Error('nothing was thrown');
  };
  const noAppWords = (e: Record<string, unknown>) =>
    expect(String(e.message)).not.toMatch(/--project|oxenvcs /);

  it('a file named as the project, and a folder outside the repository', () => {
    const repo = realpathSync(oxenConfig);
    mkdirSync(join(repo, '.oxen'));
    writeFileSync(join(repo, 'song.txt'), 'la');
    const at = (project: string) => () =>
      resolveProject({ cwd: repo, env: env(), stateDir: join(repo, 'state'), project });
    const file = thrown(at('song.txt'));
    expect(file).toMatchObject({
      name: 'EngineError',
      code: 'INVALID_INPUT',
      field: 'project',
      problem: 'not-a-folder',
      value: 'song.txt',
    });
    noAppWords(file);
    const outside = thrown(at('..'));
    expect(outside).toMatchObject({
      field: 'project',
      problem: 'outside-repository',
      value: '..',
      repository: repo,
    });
    noAppWords(outside);
  });

  it('OXENVCS_HOLDER with a control character, or too long', () => {
    expect(thrown(() => holderIdentity(env({ OXENVCS_HOLDER: 'ada\u001b[2J' })))).toMatchObject({
      code: 'INVALID_INPUT',
      field: 'OXENVCS_HOLDER',
      problem: 'control-character',
    });
    expect(thrown(() => holderIdentity(env({ OXENVCS_HOLDER: 'a'.repeat(201) })))).toMatchObject({
      field: 'OXENVCS_HOLDER',
      problem: 'too-long',
      limit: 200,
    });
  });
});
