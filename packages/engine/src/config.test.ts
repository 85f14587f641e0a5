import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, loadConfig, resolvePaths } from './config.js';

let home: string;
let project: string;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'oxvcs-cfg-'));
  project = join(home, 'project');
  mkdirSync(join(project, '.oxenvcs'), { recursive: true });
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

describe('configuration layers', () => {
  it('user < project < environment < flags, merged key by key (partial sections work)', () => {
    writeFileSync(
      join(home, 'config.toml'),
      '[lock]\ntimeout_hours = 2\nauto_renew = false\n[ui]\nemoji = false\n',
    );
    writeFileSync(join(project, '.oxenvcs', 'config.toml'), '[lock]\ntimeout_hours = 3\n');
    const env = { OXENVCS_HOME: home, OXENVCS_RETRY_MAX_RETRIES: '2' };
    const config = loadConfig({ env, projectRoot: project, overrides: { queue: { auto_sync: false } } });
    expect(config.lock).toEqual({
      timeout_hours: 3,
      auto_renew: false,
      renew_before_minutes: 30,
      heartbeat_interval_seconds: 0,
      keep_alive: false,
      wait_poll_seconds: 5,
      read_only_guard: false,
    });
    expect(config.retry.max_retries).toBe(2);
    expect(config.retry.initial_backoff_ms).toBe(DEFAULT_CONFIG.retry.initial_backoff_ms);
    expect(config.queue.auto_sync).toBe(false);
    expect(config.ui).toEqual({ colour: true, emoji: false, notifications: true });
    const flags = loadConfig({
      env: { ...env, OXENVCS_LOCK_TIMEOUT_HOURS: '5' },
      projectRoot: project,
      overrides: { lock: { timeout_hours: 6 } },
    });
    expect(flags.lock.timeout_hours).toBe(6);
    expect(
      loadConfig({ env: { ...env, OXENVCS_LOCK_TIMEOUT_HOURS: '5' }, projectRoot: project }).lock
        .timeout_hours,
    ).toBe(5);
  });

  it('errors name the key and the file', () => {
    writeFileSync(join(home, 'config.toml'), '[lock]\ntimeout_hours = "soon"\n');
    expect(() => loadConfig({ env: { OXENVCS_HOME: home } })).toThrow(
      `lock.timeout_hours in ${join(home, 'config.toml')} must be a number ≥ 0.0167 and ≤ 720 (got "soon").`,
    );
    writeFileSync(join(home, 'config.toml'), '[lock]\ntimout_hours = 3\n');
    expect(() => loadConfig({ env: { OXENVCS_HOME: home } })).toThrow(
      /Unknown key lock\.timout_hours in .*config\.toml; known keys of \[lock\]: timeout_hours/,
    );
    writeFileSync(join(home, 'config.toml'), '[lock\n');
    expect(() => loadConfig({ env: { OXENVCS_HOME: home } })).toThrow(
      /config\.toml is not valid TOML \(line 1\); fix it or remove it\./,
    );
    writeFileSync(join(home, 'config.toml'), '');
    expect(() => loadConfig({ env: { OXENVCS_HOME: home, OXENVCS_QUEUE_MAX_ATTEMPTS: '0' } })).toThrow(
      'queue.max_attempts in the environment (OXENVCS_*) must be a whole number ≥ 1 and ≤ 1000 (got "0").',
    );
  });

  it('OXENVCS_HOME holds state and config; otherwise the platform’s places', () => {
    expect(resolvePaths({ OXENVCS_HOME: home })).toEqual({
      stateDir: home,
      userConfig: join(home, 'config.toml'),
    });
    const platform = resolvePaths({});
    expect(platform.stateDir).toMatch(/oxenvcs$/);
    expect(platform.userConfig).toMatch(/oxenvcs[\\/]config\.toml$/);
  });
});
