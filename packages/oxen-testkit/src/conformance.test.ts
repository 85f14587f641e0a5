/**
 * Conformance of the fake oxen-server with `oxen-0.54-audit.md`: one describe per row of its table
 * "Things the fake does that the real server does not, or the reverse" (server rows), plus the new
 * faults. Everything goes over real HTTP to a fake on a free port.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type FakeOxenServer, startFakeOxenServer } from './server.js';

let server: FakeOxenServer;
let n = 0;
/** Settings a server starts with when no option changes them. */
const DEFAULTS = {
  wholeTreeVerifyMs: 0,
  uploadCommitDelayMs: 0,
  dateOffsetMs: 0,
  dateOffsetShare: 1,
  uploadLimitBytes: 2 * 1024 * 1024,
  branchExistsStatus: 500,
};
const newRepo = async (files?: Record<string, string>) => {
  const name = `conf${++n}`;
  const commit = await server.createRepo('ns', name, files);
  return { name, api: `${server.url}/api/repos/ns/${name}`, commit: commit! };
};
const jsonCall = async (
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
) => {
  const res = await fetch(url, {
    method,
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {}
  return { res, text, json };
};
/** A `PUT /file` the way the project sends it: `file`, `name`, `email`, `message`; null leaves a field out. */
const upload = (
  api: string,
  resource: string,
  content: string,
  fields: { filename?: string; name?: string | null; email?: string | null; message?: string } = {},
) => {
  const form = new FormData();
  form.append('file', new Blob([content]), fields.filename ?? 'lock.json');
  if (fields.name !== null) form.append('name', fields.name ?? 'Ada');
  if (fields.email !== null) form.append('email', fields.email ?? 'ada@example.com');
  form.append('message', fields.message ?? 'lock');
  return fetch(`${api}/file/${resource}`, { method: 'PUT', body: form });
};
const head = (name: string, branch: string) => server.repo('ns', name)?.branches[branch];

beforeAll(async () => {
  server = await startFakeOxenServer();
});
afterAll(() => server.stop());
afterEach(async () => {
  await server.faults.clear();
  server.configure({ wholeTreeVerifyMs: 0, uploadCommitDelayMs: 0 });
});

describe('audit row: Identical PUT /file', () => {
  it('same bytes at the same path: 422 no_changes (>= 0.52.10), nothing committed, head unchanged', async () => {
    const { api, name } = await newRepo();
    expect((await upload(api, 'main/.oxvcs', '{"op":"renew"}')).status).toBe(200);
    const before = head(name, 'main');
    const commits = Object.keys(server.repo('ns', name)!.commits).length;
    const again = await upload(api, 'main/.oxvcs', '{"op":"renew"}');
    expect(again.status).toBe(422);
    expect(await again.json()).toEqual({
      error: {
        type: 'no_changes',
        title: 'No changes to commit',
        detail: 'Nothing staged differs from the parent commit, so there is nothing to commit.',
      },
      status: 'error',
      status_message: 'bad_request',
    });
    expect(head(name, 'main')).toBe(before);
    expect(Object.keys(server.repo('ns', name)!.commits)).toHaveLength(commits);
    // Different bytes commit again.
    expect((await upload(api, 'main/.oxvcs', '{"op":"release"}')).status).toBe(200);
  });

  it('a server older than 0.52.10 answers the catch-all 500 with the same title', async () => {
    const old = await startFakeOxenServer({ version: '0.52.9' });
    try {
      await old.createRepo('ns', 'r', { 'README.md': 'hi' });
      const res = await upload(`${old.url}/api/repos/ns/r`, 'main/README.md', 'hi');
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({
        error: { type: 'internal_server_error', title: 'No changes to commit' },
        status: 'error',
        status_message: 'internal_server_error',
      });
      expect(res.headers.get('oxen-version')).toBe('0.52.9');
    } finally {
      await old.stop();
    }
  });
});

describe('limit: PUT /file holds at most 2 MiB of text fields and files (actix-multipart default)', () => {
  afterEach(() => server.configure({ uploadLimitBytes: DEFAULTS.uploadLimitBytes }));

  it('a message that fills the limit with the file is refused with actix’s plain 400; one byte less is taken', async () => {
    const { name, api } = await newRepo();
    // name "Ada" (3) + email "ada@example.com" (15) + file "x" (1) + the message: 2 MiB exactly.
    const message = 'm'.repeat(2 * 1024 * 1024 - 19);
    const fits = await upload(api, 'main/a.txt', 'x', { message });
    expect(fits.status).toBe(200);
    const over = await upload(api, 'main/b.txt', 'x', { message: `${message}m` });
    expect(over.status).toBe(400);
    expect(over.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await over.text()).toBe('A payload reached size limit.');
    expect(server.repo('ns', name)?.commits[head(name, 'main')!]?.tree).not.toHaveProperty('b.txt');
  });

  it('the limit can be lowered, as a proxy in front would', async () => {
    const { api } = await newRepo();
    server.configure({ uploadLimitBytes: 1000 });
    expect((await upload(api, 'main/a.txt', 'x', { message: 'm'.repeat(2000) })).status).toBe(400);
    expect(() => server.configure({ uploadLimitBytes: 0 })).toThrow(/positive whole number/);
  });
});

describe('newer releases: "Branch already exists" as 409', () => {
  afterEach(() => server.configure({ branchExistsStatus: 500 }));

  it('keeps the title and changes only the status', async () => {
    const { name, api } = await newRepo();
    server.configure({ branchExistsStatus: 409 });
    const main = head(name, 'main')!;
    expect((await jsonCall('POST', `${api}/branches`, { new_name: 't/1', commit_id: main })).res.status).toBe(
      200,
    );
    const again = await jsonCall('POST', `${api}/branches`, { new_name: 't/1', commit_id: main });
    expect(again.res.status).toBe(409);
    expect(again.json.error.title).toBe('Branch already exists: t/1');
  });
});

describe('setting: dateOffsetShare (a skewed Date header on a share of answers)', () => {
  afterEach(() => server.configure({ dateOffsetMs: 0, dateOffsetShare: 1 }));

  it('skews about that share of answers, from the seed, and leaves commit times alone', async () => {
    const day = 86_400_000;
    server.configure({ dateOffsetMs: 8 * day, dateOffsetShare: 1 / 3 });
    let skewed = 0;
    for (let i = 0; i < 90; i++) {
      const res = await fetch(`${server.url}/api/version`);
      await res.arrayBuffer();
      if (Date.parse(res.headers.get('date')!) - Date.now() > day) skewed++;
    }
    expect(skewed).toBeGreaterThan(15);
    expect(skewed).toBeLessThan(45);
    const { name } = await newRepo();
    const commit = server.repo('ns', name)!.commits[head(name, 'main')!]!;
    expect(Math.abs(Date.parse(commit.timestamp) - Date.now())).toBeLessThan(day);
    expect(() => server.configure({ dateOffsetShare: 2 })).toThrow(/from 0 to 1/);
  });
});

describe('audit row: PUT /file path', () => {
  it('a path that is not an existing directory is the full file path; the filename is ignored', async () => {
    const { api, name } = await newRepo();
    const res = await upload(api, 'main/.oxvcs', 'record', { filename: 'lock.json' });
    const { commit } = (await res.json()) as { commit: { id: string } };
    const tree = server.repo('ns', name)!.commits[commit.id]!.tree;
    expect(Object.keys(tree).sort()).toEqual(['.oxvcs', 'README.md']);
    expect(await (await fetch(`${api}/file/main/.oxvcs`)).text()).toBe('record');
  });

  it('an existing directory takes the uploaded filename; the branch root is a directory too', async () => {
    const { api, name } = await newRepo({ 'data/a.txt': 'a' });
    const inDir = (await (await upload(api, 'main/data', 'b', { filename: 'b.txt' })).json()) as any;
    expect(Object.keys(server.repo('ns', name)!.commits[inDir.commit.id]!.tree).sort()).toEqual([
      'data/a.txt',
      'data/b.txt',
    ]);
    const atRoot = (await (await upload(api, 'main', 'c', { filename: 'c.txt' })).json()) as any;
    expect(server.repo('ns', name)!.commits[atRoot.commit.id]!.tree).toHaveProperty('c.txt');
  });

  it('a path under an existing file is a 400, not a new file', async () => {
    const { api } = await newRepo();
    const res = await upload(api, 'main/README.md/inner', 'x');
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error).toEqual({
      type: 'bad_request',
      title: 'Bad Request',
      detail: 'Target path must be a directory: README.md/inner',
    });
  });
});

describe('audit row: PUT /file without name/email', () => {
  it('400 "Name is required" / "Email is required", and nothing is committed', async () => {
    const { api, name } = await newRepo();
    const before = head(name, 'main');
    const noName = await upload(api, 'main/.oxvcs', 'x', { name: null });
    expect(noName.status).toBe(400);
    expect(await noName.json()).toEqual({
      error: { type: 'bad_request', title: 'Bad Request', detail: 'Name is required' },
      status: 'error',
      status_message: 'bad_request',
    });
    const noEmail = await upload(api, 'main/.oxvcs', 'x', { email: null });
    expect(noEmail.status).toBe(400);
    expect(((await noEmail.json()) as any).error.detail).toBe('Email is required');
    expect(head(name, 'main')).toBe(before);
  });
});

describe('audit row: PUT /file on a missing branch', () => {
  it('404 rich "Path does not exist" (not "Branch does not exist"); no branch is created', async () => {
    const { api, name } = await newRepo();
    const res = await upload(api, 'oxvcs-scratch/m1/.oxvcs', 'x');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: {
        type: 'resource_not_found',
        title: 'Path does not exist',
        detail: 'Could not find path: oxvcs-scratch/m1/.oxvcs',
      },
      status: 'error',
      status_message: 'resource_not_found',
    });
    expect(Object.keys(server.repo('ns', name)!.branches)).toEqual(['main']);
  });
});

describe('audit row: Concurrent PUT /file on one branch', () => {
  it('two overlapping uploads changing the same path: the later commit gets 409 "Workspace is behind"', async () => {
    const { api, name, commit } = await newRepo();
    server.configure({ uploadCommitDelayMs: 80 });
    server.overlapUploads(2);
    const results = await Promise.all([
      upload(api, 'main/.oxvcs', 'from heartbeat'),
      upload(api, 'main/.oxvcs', 'from the CLI'),
    ]);
    const bodies = (await Promise.all(results.map((r) => r.json()))) as any[];
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    const winner = bodies[results.findIndex((r) => r.status === 200)];
    const loser = bodies[results.findIndex((r) => r.status === 409)];
    expect(loser).toMatchObject({
      error: { type: 'conflict', title: 'Workspace is behind' },
      status: 'error',
      status_message: 'conflict',
    });
    expect(loser.error.detail).toMatch(
      new RegExp(`^Workspace '[-0-9a-f]{36}' is behind at commit ${commit.id}$`),
    );
    expect(head(name, 'main')).toBe(winner.commit.id);
  });

  it('overlapping uploads of different paths both commit, the later on top of the earlier', async () => {
    const { api, name } = await newRepo();
    server.configure({ uploadCommitDelayMs: 50 });
    server.overlapUploads(2);
    const [a, b] = await Promise.all([upload(api, 'main/a.json', 'a'), upload(api, 'main/b.json', 'b')]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const tree = server.repo('ns', name)!.commits[head(name, 'main')!]!.tree;
    expect(tree).toHaveProperty('a.json');
    expect(tree).toHaveProperty('b.json');
  });

  it('uploads that do not overlap never conflict', async () => {
    const { api } = await newRepo();
    expect((await upload(api, 'main/.oxvcs', 'one')).status).toBe(200);
    expect((await upload(api, 'main/.oxvcs', 'two')).status).toBe(200);
  });
});

describe('audit row: PUT/POST /branches cost', () => {
  const timed = async <T>(work: () => Promise<T>) => {
    const started = performance.now();
    const result = await work();
    return { result, ms: performance.now() - started };
  };

  it('a branch-creating PUT checks the whole tree; a PUT that moves an existing branch does not', async () => {
    const { api, commit } = await newRepo();
    server.configure({ wholeTreeVerifyMs: 150 });
    const create = await timed(() => jsonCall('PUT', `${api}/branches/scratch`, { commit_id: commit.id }));
    expect(create.result.res.status).toBe(200);
    expect(create.ms).toBeGreaterThanOrEqual(140);
    // Where no check should run, a check costs far more than a busy machine can add to a request:
    // the bound tells the two apart without racing the clock.
    server.configure({ wholeTreeVerifyMs: 120_000 });
    const move = await timed(() => jsonCall('PUT', `${api}/branches/scratch`, { commit_id: commit.id }));
    expect(move.result.json.status_message).toBe('resource_updated');
    expect(move.ms).toBeLessThan(60_000);
  });

  it('POST {new_name, commit_id} is checked against main (cheap), the whole tree when there is no main', async () => {
    const { api, name, commit } = await newRepo();
    server.configure({ wholeTreeVerifyMs: 120_000 });
    const cheap = await timed(() =>
      jsonCall('POST', `${api}/branches`, { new_name: 'oxvcs-lock/k/001', commit_id: commit.id }),
    );
    expect(cheap.result.json.status_message).toBe('resource_created');
    expect(cheap.ms).toBeLessThan(60_000);
    await jsonCall('POST', `${api}/branches`, { new_name: 'trunk', from_name: 'main' });
    await jsonCall('DELETE', `${api}/branches/main`);
    server.configure({ wholeTreeVerifyMs: 150 });
    const whole = await timed(() =>
      jsonCall('POST', `${api}/branches`, { new_name: 'oxvcs-lock/k/002', commit_id: commit.id }),
    );
    expect(whole.result.json.status_message).toBe('resource_created');
    expect(whole.ms).toBeGreaterThanOrEqual(140);
    expect(head(name, 'oxvcs-lock/k/002')).toBe(commit.id);
  });

  it('a client that disconnects during the check drops the handler: the ref is NOT written', async () => {
    const { api, name, commit } = await newRepo();
    // The client gives up after 20 ms, long before the check's 1 s: only an event loop stalled for
    // most of a second (not just a busy machine) could let the check finish first.
    server.configure({ wholeTreeVerifyMs: 1000 });
    server.clearRequests();
    const started = performance.now();
    await expect(
      fetch(`${api}/branches/oxvcs-scratch/m1`, {
        method: 'PUT',
        body: JSON.stringify({ commit_id: commit.id }),
        signal: AbortSignal.timeout(20),
      }),
    ).rejects.toThrow();
    await vi.waitFor(() => expect(server.requests.map((r) => r.status)).toEqual([0]));
    // Past the moment the check would have finished, the branch still does not exist.
    await vi.waitFor(() => expect(performance.now() - started).toBeGreaterThan(1030), { interval: 10 });
    expect(head(name, 'oxvcs-scratch/m1')).toBeUndefined();
    expect((await jsonCall('GET', `${api}/branches/oxvcs-scratch/m1`)).res.status).toBe(404);
  });

  it('the setting switches at run time and starts from the option', async () => {
    const slow = await startFakeOxenServer({ wholeTreeVerifyMs: 5, uploadCommitDelayMs: 7 });
    try {
      expect(slow.settings).toEqual({ ...DEFAULTS, wholeTreeVerifyMs: 5, uploadCommitDelayMs: 7 });
      slow.configure({ wholeTreeVerifyMs: 0 });
      expect(slow.settings).toEqual({ ...DEFAULTS, wholeTreeVerifyMs: 0, uploadCommitDelayMs: 7 });
      expect(() => slow.configure({ uploadCommitDelayMs: -1 })).toThrow(/non-negative/);
    } finally {
      await slow.stop();
    }
  });
});

describe('audit row: Invalid branch name', () => {
  it('POST and PUT /branches answer 500 (not 400) for a name refs reject', async () => {
    const { api, commit } = await newRepo();
    const post = await jsonCall('POST', `${api}/branches`, { new_name: 'bad..name', commit_id: commit.id });
    expect(post.res.status).toBe(500);
    expect(post.json).toEqual({
      error: { type: 'internal_server_error', title: "'bad..name' is not a valid branch name." },
      status: 'error',
      status_message: 'internal_server_error',
    });
    const put = await jsonCall('PUT', `${api}/branches/has space`, { commit_id: commit.id });
    expect(put.res.status).toBe(500);
    expect(put.json.error.title).toBe("'has space' is not a valid branch name.");
  });
});

describe('audit row: Missing commit on GET', () => {
  it('404 rich "Revision not found" with the detail naming the id', async () => {
    const { api } = await newRepo();
    const { res, json } = await jsonCall('GET', `${api}/commits/deadbeef`);
    expect(res.status).toBe(404);
    expect(json).toEqual({
      error: {
        type: 'resource_not_found',
        title: 'Revision not found',
        detail: 'Could not find branch or commit: deadbeef',
      },
      status: 'error',
      status_message: 'resource_not_found',
    });
  });
});

describe('audit row: Unknown route', () => {
  it('404 resource_not_found without status_description', async () => {
    const { res, json } = await jsonCall('GET', `${server.url}/api/nope`);
    expect(res.status).toBe(404);
    expect(json).toEqual({ status: 'error', status_message: 'resource_not_found', oxen_version: '0.54.0' });
  });
});

describe('audit row: x-oxen-request-id', () => {
  it('is on every answer, generated when the client sent none and echoed when it did', async () => {
    const first = await fetch(`${server.url}/api/version`);
    const second = await fetch(`${server.url}/api/nope`);
    const ids = [first, second].map((r) => r.headers.get('x-oxen-request-id'));
    expect(ids[0]).toMatch(/^[-0-9a-f]{36}$/);
    expect(ids[1]).toMatch(/^[-0-9a-f]{36}$/);
    expect(ids[0]).not.toBe(ids[1]);
    const echoed = await fetch(`${server.url}/api/version`, { headers: { 'x-oxen-request-id': 'req-7' } });
    expect(echoed.headers.get('x-oxen-request-id')).toBe('req-7');
  });

  it('also on 401s and injected faults, with Date and oxen-version', async () => {
    const guarded = await startFakeOxenServer({ auth: 'secret' });
    try {
      const answers = [
        await fetch(`${guarded.url}/api/health`),
        await fetch(`${guarded.url}/api/health`, { headers: { authorization: 'Bearer wrong' } }),
      ];
      for (const kind of ['error', 'rate-limit', 'maintenance', 'redirect'] as const) {
        await guarded.faults.add({ kind, count: 1 });
        answers.push(await fetch(`${guarded.url}/api/version`, { redirect: 'manual' }));
      }
      expect(answers.map((r) => r.status)).toEqual([401, 401, 503, 429, 429, 302]);
      for (const answer of answers) {
        expect(answer.headers.get('x-oxen-request-id')).toBeTruthy();
        expect(answer.headers.get('oxen-version')).toBe('0.54.0');
        expect(Date.parse(answer.headers.get('date') ?? '')).toBeGreaterThan(0);
      }
    } finally {
      await guarded.stop();
    }
  });
});

describe('audit row: POST /api/repos', () => {
  const create = (name: string, headers: Record<string, string>) =>
    jsonCall('POST', `${server.url}/api/repos`, { namespace: 'ns', name }, headers);

  it('needs exactly Content-Type: application/json', async () => {
    const none = await fetch(`${server.url}/api/repos`, {
      method: 'POST',
      body: new Blob([JSON.stringify({ namespace: 'ns', name: 'untyped' })]),
    });
    expect(none.status).toBe(400);
    expect(((await none.json()) as any).error.detail).toBe('Unsupported Content-Type');
    const charset = await create('charset', { 'content-type': 'application/json; charset=utf-8' });
    expect(charset.res.status).toBe(400);
    expect(charset.json).toEqual({ status: 'error', status_message: 'bad_request', oxen_version: '0.54.0' });
    expect(server.repo('ns', 'untyped')).toBeUndefined();
    expect(server.repo('ns', 'charset')).toBeUndefined();
  });

  it('success is status_message resource_found; an existing name is 409 "Repo already exists."', async () => {
    // Exactly what @oxvcs/oxen's createRepository sends (ky's `json` option).
    const made = await create('fresh', { 'content-type': 'application/json' });
    expect(made.res.status).toBe(200);
    expect(made.json).toEqual({
      status: 'success',
      status_message: 'resource_found',
      repository: {
        namespace: 'ns',
        name: 'fresh',
        latest_commit: null,
        min_version: '0.36.0',
        storage_kind: 'local',
      },
    });
    const again = await create('fresh', { 'content-type': 'application/json' });
    expect(again.res.status).toBe(409);
    expect(again.json).toEqual({
      status: 'error',
      status_message: 'Repo already exists.',
      oxen_version: '0.54.0',
    });
  });
});

describe('audit row: …/workspaces/{id}/files (no dir)', () => {
  it('has no route (404 without status_description); …/files/{dir} stages', async () => {
    const { api } = await newRepo();
    await jsonCall('PUT', `${api}/workspaces`, { workspace_id: 'w1', branch_name: 'main' });
    const form = () => {
      const f = new FormData();
      f.append('file', new Blob(['x']), 'a.txt');
      return f;
    };
    const bare = await fetch(`${api}/workspaces/w1/files`, { method: 'POST', body: form() });
    expect(bare.status).toBe(404);
    expect(await bare.json()).toEqual({
      status: 'error',
      status_message: 'resource_not_found',
      oxen_version: '0.54.0',
    });
    const staged = await fetch(`${api}/workspaces/w1/files/data`, { method: 'POST', body: form() });
    expect(((await staged.json()) as any).paths).toEqual(['data/a.txt']);
  });
});

describe('audit row: Workspace creation, missing branch', () => {
  it('400 (not 404) in a repository that has commits', async () => {
    const { api } = await newRepo();
    const { res, json } = await jsonCall('PUT', `${api}/workspaces`, {
      workspace_id: 'w',
      branch_name: 'nope',
    });
    expect(res.status).toBe(400);
    expect(json).toEqual({
      status: 'error',
      status_message: 'Branch not found: nope. For non-empty repositories, create the branch first.',
      oxen_version: '0.54.0',
    });
  });

  it('committing a workspace to a missing branch: 404 whose status_description is the branch name', async () => {
    const { api } = await newRepo();
    await jsonCall('PUT', `${api}/workspaces`, { workspace_id: 'w2', branch_name: 'main' });
    const { res, json } = await jsonCall('POST', `${api}/workspaces/w2/commit/gone`, {
      message: 'm',
      author: 'a',
      email: 'e',
    });
    expect(res.status).toBe(404);
    expect(json.status_description).toBe('gone');
  });
});

describe('actix keep-alive (5 s)', () => {
  const get = (agent: Agent, url: string) =>
    new Promise<{ reused: boolean; keepAlive: string }>((resolve, reject) => {
      const req = request(url, { agent }, (res) => {
        res.resume();
        res.on('end', () =>
          resolve({ reused: req.reusedSocket, keepAlive: String(res.headers['keep-alive']) }),
        );
      });
      req.on('error', reject);
      req.end();
    });

  it('an idle connection is reused for the next request', async () => {
    const agent = new Agent({ keepAlive: true });
    try {
      const first = await get(agent, `${server.url}/api/version`);
      const second = await get(agent, `${server.url}/api/version`);
      expect(first).toEqual({ reused: false, keepAlive: 'timeout=5' });
      expect(second.reused).toBe(true);
    } finally {
      agent.destroy();
    }
  });

  it('stop() does not wait for idle keep-alive connections', async () => {
    const own = await startFakeOxenServer();
    const agent = new Agent({ keepAlive: true });
    try {
      await get(agent, `${own.url}/api/version`);
      const started = performance.now();
      await own.stop();
      // Waiting for the idle connection would take its keep-alive timeout (5 s).
      expect(performance.now() - started).toBeLessThan(4000);
    } finally {
      agent.destroy();
    }
  });
});

/**
 * A signal for a request the test gives up on itself: `giveUp()` aborts it 150 ms later. Called once
 * the headers are in, so a machine slow to send them is never mistaken for a stalled body.
 */
const patience = () => {
  const controller = new AbortController();
  return { signal: controller.signal, giveUp: () => setTimeout(() => controller.abort(), 150) };
};

describe('fault: stall-body', () => {
  it('applies the request, sends status, headers and half the body, then stalls', async () => {
    const { api, name, commit } = await newRepo();
    await server.faults.add({ kind: 'stall-body', method: 'POST', route: '/branches', count: 1 });
    const wait = patience();
    const res = await fetch(`${api}/branches`, {
      method: 'POST',
      body: JSON.stringify({ new_name: 'stalled', commit_id: commit.id }),
      signal: wait.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-oxen-request-id')).toBeTruthy();
    const length = Number(res.headers.get('content-length'));
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(first.value!.byteLength).toBe(Math.floor(length / 2));
    wait.giveUp();
    await expect(reader.read()).rejects.toThrow();
    expect(head(name, 'stalled')).toBe(commit.id);
    expect(server.requests.at(-1)).toMatchObject({ status: 200, fault: 'stall-body' });
  });

  it('`bytes` sets how much of the body is sent before the stall', async () => {
    await server.faults.add({ kind: 'stall-body', route: '/api/version', bytes: 5, count: 1 });
    const wait = patience();
    const res = await fetch(`${server.url}/api/version`, { signal: wait.signal });
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('{"sta');
    wait.giveUp();
    await expect(reader.read()).rejects.toThrow();
  });
});

describe('fault: huge-body', () => {
  it('streams `bytes` bytes of a JSON-looking 200 with its Content-Length', async () => {
    const bytes = 20 * 1024 * 1024;
    await server.faults.add({ kind: 'huge-body', bytes, count: 1 });
    const res = await fetch(`${server.url}/api/version`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(bytes));
    expect(res.headers.get('content-type')).toBe('application/json');
    const reader = res.body!.getReader();
    let size = 0;
    let start = '';
    let last: Uint8Array | undefined;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!start) start = new TextDecoder().decode(value.subarray(0, 20));
      size += value.byteLength;
      last = value;
    }
    expect(size).toBe(bytes);
    expect(start).toBe('{"status":"success",');
    expect(new TextDecoder().decode(last!.subarray(-2))).toBe('"}');
  });

  it('an error status gives a chunked HTML page; a client that stops reading ends the stream', async () => {
    await server.faults.add({
      kind: 'huge-body',
      status: 502,
      bytes: 50 * 1024 * 1024,
      chunked: true,
      count: 1,
    });
    const res = await fetch(`${server.url}/api/version`);
    expect(res.status).toBe(502);
    expect(res.headers.get('content-length')).toBeNull();
    expect(res.headers.get('content-type')).toBe('text/html');
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('<title>502 Bad Gateway</title>');
    await reader.cancel();
    expect((await fetch(`${server.url}/api/version`)).status).toBe(200);
  });
});

describe('fault: redirect', () => {
  it('302 to the same path and query on http://127.0.0.2:<port> by default', async () => {
    await server.faults.add({ kind: 'redirect', count: 1 });
    const res = await fetch(`${server.url}/api/repos/ns/x/branches?a=1`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(`http://127.0.0.2:${server.port}/api/repos/ns/x/branches?a=1`);
  });

  it('`status` and `location` are configurable; a client that follows lands on the other origin', async () => {
    const other = createServer((req, res) => res.end(`other origin saw ${req.url}`));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.2', resolve));
    try {
      const location = `http://127.0.0.2:${(other.address() as AddressInfo).port}/elsewhere`;
      await server.faults.add({ kind: 'redirect', status: 307, location, count: 1 });
      const res = await fetch(`${server.url}/api/version`);
      expect(res.redirected).toBe(true);
      expect(await res.text()).toBe('other origin saw /elsewhere');
    } finally {
      other.closeAllConnections();
      await new Promise((resolve) => other.close(resolve));
    }
  });
});

describe('faults and settings through the FaultController and the bin control interface', () => {
  it('rejects an unknown kind or a malformed field', async () => {
    await expect(server.faults.add({ kind: 'nope' } as never)).rejects.toThrow(/Unknown fault kind "nope"/);
    await expect(server.faults.add({ kind: 'huge-body', bytes: -1 })).rejects.toThrow(/non-negative/);
  });

  const bin = fileURLToPath(new URL('../dist/bin/server.js', import.meta.url));
  const run = promisify(execFile);
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child?.pid && child.exitCode === null) child.kill('SIGTERM');
  });

  it.runIf(existsSync(bin))('oxen-fake-server fault … and settings … switch a running server', async () => {
    child = spawn(process.execPath, [bin, '--port', '0', '--repo', 'ns/r'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    await vi.waitFor(() => expect(out).toMatch(/control: http:\/\/127\.0\.0\.1:\d+\n/));
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
    const control = /control: (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
    const cli = (...args: string[]) => run(process.execPath, [bin, ...args, '--control', control]);

    await cli('fault', 'redirect', '--status', '307', '--location', 'http://127.0.0.2:9/x', '--count', '1');
    const redirected = await fetch(`${url}/api/version`, { redirect: 'manual' });
    expect([redirected.status, redirected.headers.get('location')]).toEqual([307, 'http://127.0.0.2:9/x']);

    await cli('fault', 'huge-body', '--bytes', '1000', '--status', '502', '--chunked', '--count', '1');
    const huge = await fetch(`${url}/api/version`);
    expect([huge.status, (await huge.text()).length]).toEqual([502, 1000]);

    await cli('fault', 'stall-body', '--bytes', '3', '--count', '1');
    const wait = patience();
    const stalled = await fetch(`${url}/api/version`, { signal: wait.signal });
    wait.giveUp();
    await expect(stalled.text()).rejects.toThrow();

    const settings = await cli('settings', '--whole-tree-verify-ms', '150');
    expect(JSON.parse(settings.stdout)).toEqual({ ...DEFAULTS, wholeTreeVerifyMs: 150 });
    const main = (await (await fetch(`${url}/api/repos/ns/r/branches/main`)).json()) as any;
    const started = performance.now();
    const put = await fetch(`${url}/api/repos/ns/r/branches/new-branch`, {
      method: 'PUT',
      body: JSON.stringify({ commit_id: main.branch.commit_id }),
    });
    expect(put.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);

    await expect(cli('fault', 'nope')).rejects.toThrow(/Unknown fault kind/);
  });
});
