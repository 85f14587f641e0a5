import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  findRepositoryRoot,
  readAuthToken,
  readRepositoryRemote,
  removeAuthToken,
  writeAuthToken,
} from './config.js';
import { parseRemoteUrl } from './remote.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'oxen-config-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('repository config', () => {
  it('finds the root walking up and reads the remote', () => {
    mkdirSync(join(dir, '.oxen'));
    mkdirSync(join(dir, 'Song.logicx', 'Alternatives'), { recursive: true });
    writeFileSync(
      join(dir, '.oxen', 'config.toml'),
      'remote_name = "origin"\n[[remotes]]\nname = "origin"\nurl = "http://localhost:3000/ns/song"\n',
    );
    expect(findRepositoryRoot(join(dir, 'Song.logicx', 'Alternatives'))).toBe(dir);
    expect(readRepositoryRemote(dir)).toEqual({ name: 'origin', url: 'http://localhost:3000/ns/song' });
  });

  it('errors carry the code and the facts; the apps name their own flags', () => {
    expect(() => findRepositoryRoot(dir)).toThrow(
      expect.objectContaining({
        code: 'NOT_A_REPOSITORY',
        directory: dir,
        message: expect.not.stringContaining('--'),
      }),
    );
    mkdirSync(join(dir, '.oxen'));
    expect(() => readRepositoryRemote(dir)).toThrow(
      expect.objectContaining({ code: 'NO_REMOTE', directory: dir, remoteName: 'origin' }),
    );
    writeFileSync(join(dir, '.oxen', 'config.toml'), 'remote_name = [broken');
    expect(() => readRepositoryRemote(dir)).toThrow(/config\.toml is not valid TOML/);
    expect(() => readRepositoryRemote(dir)).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', problem: 'not-toml', line: 1 }),
    );
  });

  it('validates remote URLs', () => {
    expect(parseRemoteUrl('http://localhost:3000/ns/song')).toMatchObject({
      host: 'localhost:3000',
      namespace: 'ns',
      repo: 'song',
    });
    expect(parseRemoteUrl('https://hub.oxen.ai/ada/song').host).toBe('hub.oxen.ai');
    expect(() => parseRemoteUrl('localhost:3000')).toThrow(/not of the form|not a URL/);
    expect(() => parseRemoteUrl('http://ada:hunter2@localhost:3000/ns/song')).toThrow(
      expect.objectContaining({
        code: 'REMOTE_URL_INVALID',
        problem: 'credentials',
        url: 'http://***@localhost:3000/ns/song',
        message: expect.not.stringMatching(/hunter2|oxenvcs/),
      }),
    );
    expect(() => parseRemoteUrl('http://host/only-one')).toThrow(
      /http\(s\):\/\/host\[:port\]\/<namespace>\/<repo>/,
    );
  });
});

describe('auth config', () => {
  it('writes with mode 0600, keeps other hosts, reads back, removes', () => {
    writeAuthToken('hub.oxen.ai', 'hub-token', dir);
    const file = writeAuthToken('localhost:3000', 'local-token', dir);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readAuthToken('localhost:3000', dir)).toBe('local-token');
    expect(readAuthToken('hub.oxen.ai', dir)).toBe('hub-token');
    expect(readFileSync(file, 'utf8')).toContain('[[host_configs]]');
    expect(removeAuthToken('localhost:3000', dir)).toBe(true);
    expect(removeAuthToken('localhost:3000', dir)).toBe(false);
    expect(readAuthToken('localhost:3000', dir)).toBeUndefined();
  });

  it('a token stored into a file other users could read leaves it 0600, and keeps every other key and host', () => {
    const file = join(dir, 'auth_config.toml');
    writeFileSync(
      file,
      'default_host = "hub.oxen.ai"\nnewer_setting = "kept"\n\n[[host_configs]]\nhost = "other:1"\nauth_token = "other-token"\n',
      { mode: 0o644 },
    );
    chmodSync(file, 0o644);
    writeAuthToken('localhost:3000', 'local-token', dir);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('newer_setting = "kept"');
    expect(readAuthToken('other:1', dir)).toBe('other-token');
    expect(readAuthToken('localhost:3000', dir)).toBe('local-token');
  });

  it('host_configs that is not a list of tables is CONFIG_INVALID naming the file (never a crash), and the file is left as it was', () => {
    const file = join(dir, 'auth_config.toml');
    for (const text of ['host_configs = "x"\n', 'host_configs = { host = "a" }\n']) {
      writeFileSync(file, text);
      for (const act of [() => writeAuthToken('localhost:3000', 't', dir), () => removeAuthToken('a', dir)]) {
        let error: unknown;
        try {
          act();
        } catch (e) {
          error = e;
        }
        expect(error).toMatchObject({
          name: 'OxenError',
          code: 'CONFIG_INVALID',
          file,
          problem: 'not-auth-config',
        });
        expect((error as Error).message).toContain(file);
        expect(readFileSync(file, 'utf8')).toBe(text);
      }
    }
  });

  it('an auth config that is a symbolic link is never written through or replaced: CONFIG_INVALID says what to do', () => {
    const target = join(dir, 'dotfiles-auth.toml');
    writeFileSync(target, '[[host_configs]]\nhost = "other:1"\nauth_token = "other-token"\n');
    const file = join(dir, 'auth_config.toml');
    symlinkSync(target, file);
    for (const act of [
      () => writeAuthToken('localhost:3000', 't', dir),
      () => removeAuthToken('other:1', dir),
    ]) {
      let error: unknown;
      try {
        act();
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ name: 'OxenError', code: 'CONFIG_INVALID', file, problem: 'not-a-file' });
      expect((error as Error).message).toMatch(/symbolic link.*; .*then run again\.$/);
      expect(lstatSync(file).isSymbolicLink()).toBe(true);
      expect(readAuthToken('other:1', dir)).toBe('other-token');
    }
  });

  it('uses an auth file other users can read (as real Oxen does; old CLIs wrote 0644) and reports it', () => {
    const file = writeAuthToken('localhost:3000', 'tok-abc', dir);
    chmodSync(file, 0o644);
    const told: Array<{ file: string; mode: number }> = [];
    expect(readAuthToken('localhost:3000', dir, (facts) => told.push(facts))).toBe('tok-abc');
    expect(told).toEqual([{ file, mode: 0o644 }]);
  });
});
