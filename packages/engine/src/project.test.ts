import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fakeOxenBinDir } from '@oxvcs/oxen-testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { holderIdentity } from './project.js';

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
