#!/usr/bin/env node
/**
 * oxen-fake-server: a DEVELOPMENT FAKE of oxen-server for demos, manual runs and tests.
 * It is not Oxen and stores nothing you should keep.
 */
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import type { FaultKind, FaultRule } from '../faults.js';
import { startFakeOxenServer } from '../server.js';

const HELP = `oxen-fake-server — a development fake of oxen-server (from @oxvcs/oxen-testkit).
It is NOT Oxen: it imitates the routes, envelopes and quirks oxvcs relies on, for tests and demos.

Usage:
  oxen-fake-server [--port 3000] [--auth TOKEN] [--data DIR] [--repo NS/NAME]... [--control-port N]
  oxen-fake-server fault KIND [--route TEXT] [--method M] [--count N] [--probability P]
                              [--ms N] [--status N] [--retry-after V] --control URL
  oxen-fake-server faults clear --control URL
  oxen-fake-server faults list --control URL

Fault kinds: offline, blackhole, latency, reset, error, rate-limit, maintenance, drop-response.
The server prints its control URL at start; faults switch while it runs.`;

const KINDS: readonly FaultKind[] = [
  'offline',
  'blackhole',
  'latency',
  'reset',
  'error',
  'rate-limit',
  'maintenance',
  'drop-response',
];

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
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const [command, sub] = positionals;
  if (command === 'fault') {
    if (!sub || !KINDS.includes(sub as FaultKind))
      throw new Error(`Unknown fault kind "${sub ?? ''}"; use one of ${KINDS.join(', ')}.`);
    const num = (v: string | undefined, name: string) => {
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0)
        throw new Error(`--${name} must be a non-negative number, got "${v}".`);
      return n;
    };
    const rule: Record<string, unknown> = { kind: sub };
    if (values.route) rule.route = values.route;
    if (values.method) rule.method = values.method;
    for (const [key, flag] of [
      ['count', 'count'],
      ['probability', 'probability'],
      ['ms', 'ms'],
      ['status', 'status'],
    ] as const) {
      const n = num(values[flag], flag);
      if (n !== undefined) rule[key] = n;
    }
    if (values['retry-after']) rule.retryAfter = values['retry-after'];
    console.log(JSON.stringify(await control(values.control, '/faults', rule as unknown as FaultRule)));
    return;
  }
  if (command === 'faults') {
    if (sub === 'clear') console.log(JSON.stringify(await control(values.control, '/faults/clear', {})));
    else console.log(JSON.stringify(await control(values.control, '/faults')));
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
