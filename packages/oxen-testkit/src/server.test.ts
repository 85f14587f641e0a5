import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FakeOxenServer, startFakeOxenServer } from './server.js';

let server: FakeOxenServer;
let n = 0;
const base = () => `${server.url}/api/repos/ns`;
const newRepo = async () => {
  const name = `repo${++n}`;
  const commit = await server.createRepo('ns', name);
  return { name, api: `${base()}/${name}`, commit: commit! };
};
const call = async (method: string, url: string, body?: unknown, headers: Record<string, string> = {}) => {
  const res = await fetch(url, {
    method,
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text);
  } catch {}
  return { res, text, json: json as Record<string, any> };
};

beforeAll(async () => {
  server = await startFakeOxenServer();
});
afterAll(() => server.stop());
afterEach(() => server.faults.clear());

describe('envelopes and routes (oxen-server-api.md §2)', () => {
  it('health, version and min_version', async () => {
    const health = await call('GET', `${server.url}/api/health`);
    expect(health.res.headers.get('oxen-version')).toBe('0.54.0');
    expect(health.json).toMatchObject({
      status: 'success',
      status_message: 'resource_found',
      oxen_version: '0.54.0',
    });
    expect(health.json.disk_usage).toHaveProperty('free_gb');
    const version = await call('GET', `${server.url}/api/version`);
    expect(version.json).not.toHaveProperty('version');
    expect((await call('GET', `${server.url}/api/min_version`)).json.version).toBe('0.36.0');
  });

  it('echoes x-oxen-request-id', async () => {
    const { res } = await call('GET', `${server.url}/api/version`, undefined, { 'x-oxen-request-id': 'abc' });
    expect(res.headers.get('x-oxen-request-id')).toBe('abc');
  });

  it('unknown route: 404 resource_not_found', async () => {
    const { res, json } = await call('GET', `${server.url}/api/nope`);
    expect(res.status).toBe(404);
    expect(json.status_message).toBe('resource_not_found');
  });

  it('repository create, show, missing, delete', async () => {
    const created = await call(
      'POST',
      `${server.url}/api/repos`,
      { namespace: 'ns', name: 'made' },
      { 'content-type': 'application/json' },
    );
    expect(created.json).toMatchObject({
      status_message: 'resource_found',
      repository: { name: 'made', latest_commit: null },
    });
    const shown = await call('GET', `${base()}/made`);
    expect(shown.json.repository).toMatchObject({ namespace: 'ns', storage_kind: 'local', branch_count: 0 });
    const missing = await call('GET', `${base()}/ghost`);
    expect(missing.res.status).toBe(404);
    expect(missing.json.status_description).toBe("Repository 'ns/ghost' not found");
    expect((await call('DELETE', `${base()}/made`)).json.status_message).toBe('resource_deleted');
  });

  it('branches: list, show, missing (rich 404)', async () => {
    const { api, commit } = await newRepo();
    expect((await call('GET', `${api}/branches`)).json.branches).toEqual([
      { name: 'main', commit_id: commit.id },
    ]);
    expect((await call('GET', `${api}/branches/main`)).json.branch).toEqual({
      name: 'main',
      commit_id: commit.id,
    });
    const missing = await call('GET', `${api}/branches/nope`);
    expect(missing.res.status).toBe(404);
    expect(missing.json).toEqual({
      error: { type: 'resource_not_found', title: 'Branch does not exist' },
      status: 'error',
      status_message: 'resource_not_found',
    });
  });

  it('branch create from commit is atomic: a taken name is HTTP 500 "Branch already exists"', async () => {
    const { api, commit } = await newRepo();
    const first = await call('POST', `${api}/branches`, {
      new_name: 'oxvcs-lock/a/001',
      commit_id: commit.id,
    });
    expect(first.json).toMatchObject({
      status_message: 'resource_created',
      branch: { name: 'oxvcs-lock/a/001' },
    });
    const second = await call('POST', `${api}/branches`, {
      new_name: 'oxvcs-lock/a/001',
      commit_id: commit.id,
    });
    expect(second.res.status).toBe(500);
    expect(second.json.error.title).toBe('Branch already exists: oxvcs-lock/a/001');
    expect(second.json).not.toHaveProperty('oxen_version');
    const unknown = await call('POST', `${api}/branches`, { new_name: 'x', commit_id: 'deadbeef' });
    expect(unknown.res.status).toBe(500);
    expect(unknown.json.error.title).toBe('Could not find commit: deadbeef');
  });

  it('of 20 racing creators exactly one wins', async () => {
    const { api, commit } = await newRepo();
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        call('POST', `${api}/branches`, { new_name: 'race', commit_id: commit.id }),
      ),
    );
    expect(results.filter((r) => r.res.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.res.status === 500)).toHaveLength(19);
  });

  it('branch create from_name is NOT a CAS: a taken name answers 200 resource_found', async () => {
    const { api } = await newRepo();
    await call('POST', `${api}/branches`, { new_name: 'dev', from_name: 'main' });
    const again = await call('POST', `${api}/branches`, { new_name: 'dev', from_name: 'main' });
    expect(again.res.status).toBe(200);
    expect(again.json.status_message).toBe('resource_found');
  });

  it('branch update is unconditional and creates; delete answers resource_deleted', async () => {
    const { api, commit } = await newRepo();
    const put = await call('PUT', `${api}/branches/scratch`, { commit_id: commit.id });
    expect(put.json).toMatchObject({
      status_message: 'resource_updated',
      branch: { name: 'scratch', commit_id: commit.id },
    });
    expect((await call('DELETE', `${api}/branches/scratch`)).json.status_message).toBe('resource_deleted');
    expect((await call('DELETE', `${api}/branches/scratch`)).res.status).toBe(404);
  });

  it('file upload commits at once with a server timestamp and parent; download returns bytes', async () => {
    const { api, commit } = await newRepo();
    const form = new FormData();
    form.append('file', new Blob(['{"holder":"ada"}']), 'lock.json');
    form.append('name', 'Ada');
    form.append('email', 'ada@example.com');
    form.append('message', 'lock');
    const put = await fetch(`${api}/file/main/.oxvcs`, { method: 'PUT', body: form });
    const body = (await put.json()) as Record<string, any>;
    expect(body.status_message).toBe('resource_created');
    expect(body.commit.parent_ids).toEqual([commit.id]);
    expect(Date.parse(body.commit.timestamp)).toBeGreaterThan(0);
    // `.oxvcs` is not a directory on main, so it is the file's full path (the filename is ignored).
    const file = await fetch(`${api}/file/main/.oxvcs`);
    expect(await file.text()).toBe('{"holder":"ada"}');
    expect(file.headers.get('oxen-revision-id')).toBe(body.commit.id);
    const shown = await call('GET', `${api}/commits/${body.commit.id}`);
    expect(shown.json.commit).toMatchObject({ id: body.commit.id, author: 'Ada', message: 'lock' });
    const hist = await call('GET', `${api}/commits/history/main?page=1&page_size=1`);
    expect(hist.json).toMatchObject({ page_size: 1, page_number: 1, total_pages: 2, total_entries: 2 });
  });

  it('workspace commit: 409 "Workspace is behind" only when a staged file changed on both sides', async () => {
    const { api } = await newRepo();
    const ws = await call('PUT', `${api}/workspaces`, { workspace_id: 'w1', branch_name: 'main' });
    expect(ws.json.workspace).toMatchObject({ id: 'w1' });
    const stage = async (id: string, name: string, content: string) => {
      const form = new FormData();
      form.append('file', new Blob([content]), name);
      return fetch(`${api}/workspaces/${id}/files/`, { method: 'POST', body: form });
    };
    await stage('w1', 'README.md', 'ours');
    const other = new FormData();
    other.append('file', new Blob(['theirs']), 'README.md');
    other.append('name', 'Bo');
    other.append('email', 'bo@example.com');
    await fetch(`${api}/file/main`, { method: 'PUT', body: other });
    const behind = await call('POST', `${api}/workspaces/w1/commit/main`, {
      message: 'm',
      author: 'a',
      email: 'e',
    });
    expect(behind.res.status).toBe(409);
    expect(behind.json.error).toMatchObject({ type: 'conflict', title: 'Workspace is behind' });

    await call('PUT', `${api}/workspaces`, { workspace_id: 'w2', branch_name: 'main' });
    await stage('w2', 'other.txt', 'fine');
    const bump = new FormData();
    bump.append('file', new Blob(['x']), 'unrelated.txt');
    bump.append('name', 'Bo');
    bump.append('email', 'bo@example.com');
    await fetch(`${api}/file/main`, { method: 'PUT', body: bump });
    const merged = await call('POST', `${api}/workspaces/w2/commit/main`, {
      message: 'm',
      author: 'a',
      email: 'e',
    });
    expect(merged.json.status_message).toBe('resource_created');
  });
});

describe('auth', () => {
  it('missing token: EMPTY 401 with WWW-Authenticate; wrong token: text "unauthorized"', async () => {
    const guarded = await startFakeOxenServer({ auth: 'secret' });
    try {
      const missing = await fetch(`${guarded.url}/api/health`);
      expect(missing.status).toBe(401);
      expect(missing.headers.get('www-authenticate')).toBe('Bearer');
      expect(await missing.text()).toBe('');
      const wrong = await fetch(`${guarded.url}/api/health`, { headers: { authorization: 'Bearer nope' } });
      expect(await wrong.text()).toBe('unauthorized');
      const right = await fetch(`${guarded.url}/api/health`, { headers: { authorization: 'Bearer secret' } });
      expect(right.status).toBe(200);
    } finally {
      await guarded.stop();
    }
  });
});

describe('faults', () => {
  it('offline refuses connections and comes back on the same port', async () => {
    await server.faults.offline();
    const error = await fetch(`${server.url}/api/health`).catch((e: Error) => e);
    expect((error as Error & { cause?: { code?: string } }).cause?.code).toBe('ECONNREFUSED');
    await server.faults.online();
    expect((await fetch(`${server.url}/api/health`)).status).toBe(200);
  });

  it('a burst of N 5xx, then normal service; the log shows each', async () => {
    server.clearRequests();
    await server.faults.add({ kind: 'error', status: 503, count: 2, route: '/api/version' });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetch(`${server.url}/api/version`)).status);
    expect(statuses).toEqual([503, 503, 200]);
    expect(server.requests.map((r) => [r.route, r.status])).toEqual([
      ['GET /api/version', 503],
      ['GET /api/version', 503],
      ['GET /api/version', 200],
    ]);
  });

  it('429 with Retry-After, and the maintenance 429 body', async () => {
    await server.faults.add({ kind: 'rate-limit', retryAfter: '7', count: 1 });
    const limited = await fetch(`${server.url}/api/version`);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    await server.faults.add({ kind: 'maintenance', count: 1 });
    const busy = await fetch(`${server.url}/api/version`);
    expect(busy.headers.get('retry-after')).toBe('5');
    expect(await busy.json()).toEqual({
      error: {
        type: 'lock_timeout',
        title: 'Repository is busy',
        detail: 'The repository is locked for maintenance. Try again later.',
      },
      status: 'error',
      status_message: 'too_many_requests',
    });
  });

  it('reset mid-response and blackhole', async () => {
    await server.faults.add({ kind: 'reset', count: 1 });
    await expect(fetch(`${server.url}/api/version`).then((r) => r.json())).rejects.toThrow();
    await server.faults.add({ kind: 'blackhole', count: 1 });
    await expect(fetch(`${server.url}/api/version`, { signal: AbortSignal.timeout(300) })).rejects.toThrow();
  });

  it('latency delays the answer', async () => {
    await server.faults.add({ kind: 'latency', ms: 200, count: 1 });
    const started = Date.now();
    await fetch(`${server.url}/api/version`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('drop-response applies the write and drops the answer', async () => {
    const { api, commit } = await newRepo();
    await server.faults.add({ kind: 'drop-response', method: 'POST', route: '/branches', count: 1 });
    await expect(
      call('POST', `${api}/branches`, { new_name: 'ambiguous', commit_id: commit.id }),
    ).rejects.toThrow();
    expect((await call('GET', `${api}/branches/ambiguous`)).res.status).toBe(200);
  });
});
