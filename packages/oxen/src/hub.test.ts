import { createFakeOxenEnv, type FakeOxenServer, startFakeOxenServer } from '@oxvcs/oxen-testkit';
import { classify, retry } from '@oxvcs/retry';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { OxenError } from './errors.js';
import { createOxenHub } from './hub.js';
import { failure } from './test-support/failure.js';

let server: FakeOxenServer;
let n = 0;
// Patient unless a test's subject is the timeout: the server is in this process, so a slow answer
// only means a busy machine (a 2 MiB upload took over 2 s beside another copy of the suite).
const fresh = async (options: { timeoutMs?: number } = {}) => {
  const name = `r${++n}`;
  await server.createRepo('ns', name);
  return createOxenHub({ remoteUrl: server.repoUrl('ns', name), timeoutMs: options.timeoutMs ?? 120_000 });
};

beforeAll(async () => {
  server = await startFakeOxenServer();
});
afterAll(() => server.stop());
afterEach(() => server.faults.clear());

describe('createOxenHub against the testkit server', () => {
  it('reads versions and refuses an old server naming both versions', async () => {
    const hub = await fresh();
    expect(await hub.version()).toBe('0.54.0');
    expect(await hub.minVersion()).toBe('0.36.0');
    const old = await startFakeOxenServer({ version: '0.49.0' });
    try {
      await old.createRepo('ns', 'x');
      const error = await failure(
        createOxenHub({ remoteUrl: old.repoUrl('ns', 'x') }).requireVersion('0.50.4'),
      );
      expect(error.code).toBe('SERVER_TOO_OLD');
      expect(error.message).toContain('0.49.0');
      expect(error.message).toContain('0.50.4');
    } finally {
      await old.stop();
    }
  });

  it('a taken name is BRANCH_EXISTS by its title whatever the status (newer Oxen answers 409)', async () => {
    const hub = await fresh();
    const main = await hub.getBranch('main');
    server.configure({ branchExistsStatus: 409 });
    try {
      await hub.createBranchFromCommit('oxvcs-locks/1', main.commit_id);
      const taken = await failure(hub.createBranchFromCommit('oxvcs-locks/1', main.commit_id));
      expect(taken).toMatchObject({ code: 'BRANCH_EXISTS', status: 409 });
      expect(classify(taken).kind).toBe('conflict');
    } finally {
      server.configure({ branchExistsStatus: 500 });
    }
  });

  it('an upload over the server’s 2 MiB multipart limit is PAYLOAD_TOO_LARGE (permanent), and so is a proxy’s 413', async () => {
    const hub = await fresh();
    const author = { name: 'Ada', email: 'ada@example.com', message: 'm'.repeat(2 * 1024 * 1024) };
    const over = await failure(hub.uploadFile('main', 'a.txt', 'a.txt', 'x', author));
    expect(over).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', status: 400 });
    expect(classify(over).kind).toBe('permanent');
    await server.faults.add({ kind: 'error', status: 413, count: 1 });
    const proxy = await failure(hub.uploadFile('main', 'a.txt', 'a.txt', 'x', { ...author, message: 'm' }));
    expect(proxy).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', status: 413 });
  });

  it('branches: create from commit, taken name → BRANCH_EXISTS (conflict), set head, delete', async () => {
    const hub = await fresh();
    const main = await hub.getBranch('main');
    await hub.createBranchFromCommit('oxvcs-lock/song/0000000001', main.commit_id);
    const taken = await failure(hub.createBranchFromCommit('oxvcs-lock/song/0000000001', main.commit_id));
    expect(taken).toMatchObject({
      code: 'BRANCH_EXISTS',
      status: 500,
      title: 'Branch already exists: oxvcs-lock/song/0000000001',
    });
    expect(classify(taken).kind).toBe('conflict');
    expect((await hub.findBranch('oxvcs-lock/song/0000000001'))?.commit_id).toBe(main.commit_id);
    expect(await hub.findBranch('nope')).toBeUndefined();
    expect((await failure(hub.getBranch('nope'))).code).toBe('BRANCH_NOT_FOUND');
    await hub.setBranchHead('scratch', main.commit_id);
    await hub.deleteBranch('scratch');
    expect((await hub.listBranches()).map((b) => b.name).sort()).toEqual([
      'main',
      'oxvcs-lock/song/0000000001',
    ]);
  });

  it('upload commits with a server timestamp on the head; download and the commit read it back', async () => {
    const hub = await fresh();
    const head = (await hub.getBranch('main')).commit_id;
    // The real server takes the path as the file's full path unless that folder already exists.
    const commit = await hub.uploadFile('main', '.oxvcs/lock.json', 'ignored.json', '{"a":1}', {
      name: 'Ada',
      email: 'a@x',
      message: 'lock',
    });
    expect(Date.parse(commit.timestamp)).not.toBeNaN();
    const file = await hub.downloadFile('main', '.oxvcs/lock.json');
    expect(file.content.toString()).toBe('{"a":1}');
    expect(file.revisionId).toBe(commit.id);
    expect((await hub.getCommit(commit.id)).message).toBe('lock');
    expect((await hub.getCommit(commit.id)).parent_ids).toEqual([head]);
  });

  it('missing repository → REPO_NOT_FOUND, permanent', async () => {
    const hub = createOxenHub({ remoteUrl: server.repoUrl('ns', 'ghost') });
    const error = await failure(hub.getRepository());
    expect(error.code).toBe('REPO_NOT_FOUND');
    expect(classify(error).kind).toBe('permanent');
  });

  it('429 with Retry-After → rate-limited carrying the delay; maintenance too', async () => {
    const hub = await fresh();
    await server.faults.add({ kind: 'rate-limit', retryAfter: '3', count: 1 });
    const error = await failure(hub.version());
    expect(error).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 3000 });
    expect(classify(error)).toMatchObject({ kind: 'rate-limited', retryAfterMs: 3000 });
    await server.faults.add({ kind: 'maintenance', count: 1 });
    expect(await failure(hub.version())).toMatchObject({
      code: 'RATE_LIMITED',
      retryAfterMs: 5000,
      title: 'Repository is busy',
    });
  });

  it('offline → NETWORK (transient, ECONNREFUSED in the cause chain)', async () => {
    const hub = await fresh();
    await server.faults.offline();
    const error = await failure(hub.version());
    expect(error.code).toBe('NETWORK');
    expect(classify(error).kind).toBe('transient');
  });

  it('a hung server → TIMEOUT within the configured timeout', async () => {
    const hub = await fresh({ timeoutMs: 300 });
    await server.faults.add({ kind: 'blackhole' });
    const started = Date.now();
    const error = await failure(hub.version());
    expect(error.code).toBe('TIMEOUT');
    // Half the default (30 s) it would take were the 300 ms not applied: a busy machine stays below.
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('a reset mid-response and a 5xx burst are transient; retry gets through', async () => {
    const hub = await fresh();
    await server.faults.add({ kind: 'reset', count: 1, route: '/api/version' });
    await server.faults.add({ kind: 'error', status: 502, count: 2, route: '/api/version' });
    const kinds: string[] = [];
    const version = await retry(
      () => hub.version(),
      { maxRetries: 5, initialDelayMs: 1, maxDelayMs: 5 },
      {
        onEvent: (e) => {
          if (e.type === 'attempt-failed') kinds.push((e.error as OxenError).code);
        },
      },
    );
    expect(version).toBe('0.54.0');
    expect(kinds).toEqual(['NETWORK', 'SERVER_ERROR', 'SERVER_ERROR']);
  });

  it('latency under the timeout is fine', async () => {
    const hub = await fresh();
    await server.faults.add({ kind: 'latency', ms: 100, count: 1 });
    expect(await hub.version()).toBe('0.54.0');
  });

  it('drop-response after a write: the request fails although the write happened', async () => {
    const hub = await fresh();
    const main = await hub.getBranch('main');
    await server.faults.add({ kind: 'drop-response', method: 'POST', route: '/branches', count: 1 });
    const error = await failure(hub.createBranchFromCommit('dropped', main.commit_id));
    expect(error.code).toBe('NETWORK');
    expect((await hub.getBranch('dropped')).commit_id).toBe(main.commit_id);
  });

  it('headers then a stalled body → TIMEOUT: the deadline covers the whole answer', async () => {
    const hub = await fresh({ timeoutMs: 400 });
    await server.faults.add({ kind: 'stall-body', route: '/branches', count: 3 });
    const started = Date.now();
    for (const call of [() => hub.listBranches(), () => hub.getBranch('main')]) {
      expect((await failure(call())).code).toBe('TIMEOUT');
    }
    // Half of one default timeout (30 s), the least a deadline that missed the body would take.
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(classify(await failure(hub.listBranches())).kind).toBe('transient');
  });

  it('a huge body is refused at the cap without reading it all (declared or chunked); a huge error page is cut short', async () => {
    const hub = await fresh();
    const capped = createOxenHub({ remoteUrl: hub.remote.url, maxResponseBytes: 1024 * 1024 });
    await server.faults.add({ kind: 'huge-body', bytes: 50 * 1024 * 1024, route: '/branches', count: 1 });
    expect((await failure(capped.listBranches())).code).toBe('RESPONSE_TOO_LARGE');
    await server.faults.add({
      kind: 'huge-body',
      bytes: 50 * 1024 * 1024,
      chunked: true,
      route: '/branches',
      count: 1,
    });
    const before = process.memoryUsage().rss;
    expect((await failure(capped.listBranches())).code).toBe('RESPONSE_TOO_LARGE');
    expect(process.memoryUsage().rss - before).toBeLessThan(40 * 1024 * 1024);
    await server.faults.add({
      kind: 'huge-body',
      status: 502,
      bytes: 20 * 1024 * 1024,
      chunked: true,
      route: '/branches',
      count: 1,
    });
    const page = await failure(hub.listBranches());
    expect(page).toMatchObject({ code: 'SERVER_ERROR', status: 502 });
    expect(page.message.length).toBeLessThan(600);
  });

  it('a redirect to another origin is an error, never followed', async () => {
    const other = await startFakeOxenServer();
    try {
      const hub = await fresh();
      const elsewhere = new URL(other.url);
      await server.faults.add({
        kind: 'redirect',
        status: 307,
        location: `${elsewhere.origin}/api/repos/ns/x/branches`,
        route: '/branches',
        count: 1,
      });
      other.clearRequests();
      const error = await failure(hub.listBranches());
      expect(error.code).toBe('REDIRECTED');
      expect(error.message).toContain(elsewhere.origin);
      expect(other.requests).toEqual([]);
      expect(classify(error).kind).toBe('permanent');
    } finally {
      await other.stop();
    }
  });

  it('server text is clipped and stripped of escape sequences before it lands in an error', async () => {
    const hub = await fresh();
    const hostile: typeof fetch = async () =>
      new Response(
        JSON.stringify({
          status: 'error',
          status_message: 'bad_request',
          error: { type: 'x', title: `\u001b]0;pwned\u0007\u001b[2J[ok] Lock acquired${'!'.repeat(5000)}` },
        }),
        { status: 400 },
      );
    const evil = createOxenHub({ remoteUrl: hub.remote.url, fetch: hostile });
    const error = await failure(evil.version());
    // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence
    expect(error.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(error.message.length).toBeLessThan(600);
    expect(error.title).not.toContain('\u001b');
  });

  it('a JSON answer of the wrong shape is BAD_RESPONSE, not a crash later', async () => {
    const hub = await fresh();
    const nulls: typeof fetch = async () =>
      new Response(JSON.stringify({ status: 'success', branches: null }), { status: 200 });
    const broken = createOxenHub({ remoteUrl: hub.remote.url, fetch: nulls });
    expect((await failure(broken.listBranches())).code).toBe('BAD_RESPONSE');
  });

  it('auth: missing/wrong token → AUTH, never echoing the token', async () => {
    const guarded = await startFakeOxenServer({ auth: 's3cret-token' });
    try {
      await guarded.createRepo('ns', 'g');
      const wrong = createOxenHub({ remoteUrl: guarded.repoUrl('ns', 'g'), token: 'wrong-token-value' });
      const error = await failure(wrong.version());
      expect(error.code).toBe('AUTH');
      expect(JSON.stringify({ ...error, message: error.message })).not.toContain('wrong-token-value');
      const right = createOxenHub({ remoteUrl: guarded.repoUrl('ns', 'g'), token: 's3cret-token' });
      expect(await right.version()).toBe('0.54.0');
    } finally {
      await guarded.stop();
    }
  });
});

describe('env helper sanity', () => {
  it('is importable here', () => {
    expect(typeof createFakeOxenEnv).toBe('function');
  });
});
