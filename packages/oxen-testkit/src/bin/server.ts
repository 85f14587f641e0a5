#!/usr/bin/env node
/**
 * oxen-fake-server: a DEVELOPMENT FAKE of oxen-server for demos, manual runs and tests.
 * It is not Oxen and stores nothing you should keep.
 */
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { FAULT_KINDS, type FaultKind, type FaultRule } from '../faults.js';
import { type FakeOxenSettings, startFakeOxenServer } from '../server.js';

const HELP = `oxen-fake-server — a development fake of oxen-server (from @oxvcs/oxen-testkit).
It is NOT Oxen: it imitates the routes, envelopes and quirks oxvcs relies on, for tests and demos.

Usage:
  oxen-fake-server [--port 3000] [--auth TOKEN] [--data DIR] [--repo NS/NAME]... [--control-port N]
                   [--oxen-version V] [--whole-tree-verify-ms N] [--upload-commit-delay-ms N]
  oxen-fake-server fault KIND [--route TEXT] [--method M] [--count N] [--probability P]
                              [--ms N] [--status N] [--retry-after V] [--bytes N] [--chunked]
                              [--location URL] --control URL
  oxen-fake-server faults clear --control URL
  oxen-fake-server faults list --control URL
  oxen-fake-server settings [--whole-tree-verify-ms N] [--upload-commit-delay-ms N] --control URL

Fault kinds: ${FAULT_KINDS.join(', ')}.
Settings: --whole-tree-verify-ms is how long a branch-creating PUT /branches (or POST /branches in a
repository without main) checks objects before writing the ref; --upload-commit-delay-ms is how long
PUT /file takes between its temporary workspace and its commit (overlapping uploads give 409).
The server prints its control URL at start; faults and settings switch while it runs.`;

/** Parses a non-negative number flag; undefined when absent. */
function num(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0)
    throw new Error(`--${name} must be a non-negative number, got "${value}".`);
  return n;
}

/** The settings given as flags, if any. */
function settingsFrom(values: Record<string, unknown>): Partial<FakeOxenSettings> {
  const out: Partial<FakeOxenSettings> = {};
  const verify = num(values['whole-tree-verify-ms'] as string | undefined, 'whole-tree-verify-ms');
  const delay = num(values['upload-commit-delay-ms'] as string | undefined, 'upload-commit-delay-ms');
  if (verify !== undefined) out.wholeTreeVerifyMs = verify;
  if (delay !== undefined) out.uploadCommitDelayMs = delay;
  return out;
}

async function control(url: string | undefined, path: string, body?: unknown): Promise<unknown> {
  if (!url) throw new Error('--control URL is required (the server prints it at start).');
  const res = await fetch(`${url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const json = (await res.json()) as { error?: string };
  if (!res.ok) throw new Error(json.error ?? `control answered HTTP ${res.status}`);
  return json;
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      port: { type: 'string', default: '3000' },
      auth: { type: 'string' },
      data: { type: 'string' },
      repo: { type: 'string', multiple: true },
      'control-port': { type: 'string' },
      control: { type: 'string' },
      route: { type: 'string' },
      method: { type: 'string' },
      count: { type: 'string' },
      probability: { type: 'string' },
      ms: { type: 'string' },
      status: { type: 'string' },
      'retry-after': { type: 'string' },
      bytes: { type: 'string' },
      chunked: { type: 'boolean' },
      location: { type: 'string' },
      'oxen-version': { type: 'string' },
      'whole-tree-verify-ms': { type: 'string' },
      'upload-commit-delay-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const [command, sub] = positionals;
  if (command === 'fault') {
    if (!sub || !FAULT_KINDS.includes(sub as FaultKind))
      throw new Error(`Unknown fault kind "${sub ?? ''}"; use one of ${FAULT_KINDS.join(', ')}.`);
    const rule: Record<string, unknown> = { kind: sub };
    if (values.route) rule.route = values.route;
    if (values.method) rule.method = values.method;
    for (const [key, flag] of [
      ['count', 'count'],
      ['probability', 'probability'],
      ['ms', 'ms'],
      ['status', 'status'],
      ['bytes', 'bytes'],
    ] as const) {
      const n = num(values[flag], flag);
      if (n !== undefined) rule[key] = n;
    }
    if (values['retry-after']) rule.retryAfter = values['retry-after'];
    if (values.chunked) rule.chunked = true;
    if (values.location) rule.location = values.location;
    console.log(JSON.stringify(await control(values.control, '/faults', rule as unknown as FaultRule)));
    return;
  }
  if (command === 'faults') {
    if (sub === 'clear') console.log(JSON.stringify(await control(values.control, '/faults/clear', {})));
    else console.log(JSON.stringify(await control(values.control, '/faults')));
    return;
  }
  if (command === 'settings') {
    const changes = settingsFrom(values);
    const path = '/settings';
    console.log(
      JSON.stringify(
        Object.keys(changes).length > 0
          ? await control(values.control, path, changes)
          : await control(values.control, path),
      ),
    );
    return;
  }
  if (command !== undefined) throw new Error(`Unknown command "${command}"; see --help.`);

  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port must be 0-65535, got "${values.port}".`);
  const server = await startFakeOxenServer({
    port,
    ...(values.auth ? { auth: values.auth } : {}),
    ...(values.data ? { dataDir: values.data } : {}),
    ...(values['oxen-version'] ? { version: values['oxen-version'] } : {}),
    ...settingsFrom(values),
  });
  for (const full of values.repo ?? []) {
    const [ns, name] = full.split('/');
    if (!ns || !name) throw new Error(`--repo must be NAMESPACE/NAME, got "${full}".`);
    if (!server.repo(ns, name)) await server.createRepo(ns, name);
  }
  const controlServer = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const reply = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    try {
      if (req.method === 'POST' && req.url === '/faults') {
        const id = await server.faults.add(JSON.parse(Buffer.concat(chunks).toString()) as FaultRule);
        return reply(200, { id });
      }
      if (req.method === 'POST' && req.url === '/faults/clear') {
        await server.faults.clear();
        return reply(200, { cleared: true });
      }
      if (req.method === 'POST' && req.url === '/settings') {
        server.configure(JSON.parse(Buffer.concat(chunks).toString()) as Partial<FakeOxenSettings>);
        return reply(200, server.settings);
      }
      if (req.url === '/settings') return reply(200, server.settings);
      if (req.url === '/faults') return reply(200, server.faults.list());
      if (req.url === '/requests') return reply(200, server.requests);
      return reply(404, { error: 'unknown control route' });
    } catch (error) {
      return reply(400, { error: error instanceof Error ? error.message : String(error) });
    }
  });
  const controlPort = values['control-port'] ? Number(values['control-port']) : port === 0 ? 0 : port + 1;
  await new Promise<void>((r) => controlServer.listen(controlPort, '127.0.0.1', r));
  const address = controlServer.address();
  const actualControl = typeof address === 'object' && address ? address.port : controlPort;
  console.log(`oxen-fake-server (development fake, not Oxen) listening on ${server.url}`);
  console.log(`control: http://127.0.0.1:${actualControl}`);
  for (const full of values.repo ?? []) console.log(`repository: ${server.url}/${full}`);
  const stop = async () => {
    controlServer.close();
    await server.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(`oxen-fake-server: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 2;
});
