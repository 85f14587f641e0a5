import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;

/** The modules a fresh process loads for `code` (an ES module body), as paths under the tree. */
async function loaded(code: string): Promise<string[]> {
  const hooks = `import { registerHooks } from 'node:module'; const seen = []; registerHooks({ load(url, context, next) { seen.push(url); return next(url, context); } }); process.on('exit', () => process.stdout.write(JSON.stringify(seen)));`;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', `data:text/javascript,${encodeURIComponent(hooks)}`, '--input-type=module', '-e', code],
    { cwd: root },
  );
  return (JSON.parse(stdout) as string[]).filter((u) => u.startsWith('file:'));
}

describe('@oxvcs/engine/operations: the queue rules without the network half (issue 20, enqueue cost)', () => {
  it('enqueueing with @oxvcs/queue and these rules loads no lock manager, Oxen client or config reader', async () => {
    const urls = await loaded(
      `const { RULES, describeOperation } = await import('${root}packages/engine/dist/operations/index.js'); if (typeof RULES.scope !== 'function' || describeOperation({ kind: 'pull', projectDir: '/p/Song', remote: 'http://h/n/r', branch: 'main' }).length === 0) process.exit(3); await import('${root}packages/queue/dist/index.js');`,
    );
    expect(urls.some((u) => u.includes('/engine/dist/operations/'))).toBe(true);
    expect(
      urls.filter((u) =>
        /\/(locks|oxen)\/dist\/|smol-toml|\/engine\/dist\/(session|core|config)\.js/.test(u),
      ),
    ).toEqual([]);
  });

  it('the package exports it by name', async () => {
    const pkg = (await import('../packages/engine/package.json', { with: { type: 'json' } })).default as {
      exports: Record<string, { default: string }>;
    };
    expect(pkg.exports['./operations']?.default).toBe('./dist/operations/index.js');
  });
});
