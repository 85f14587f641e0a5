import { createOxenHub } from '@oxvcs/oxen';
import { type FakeOxenServer, startFakeOxenServer } from '@oxvcs/oxen-testkit';
import { expect } from 'vitest';
import { type ChainCache, memoryChainCache } from '../chain.js';
import { LockError } from '../errors.js';
import { createLockManager, type LockManagerOptions } from '../manager.js';
import { type KeyStore, memoryKeyStore } from '../proof.js';
import { chainTicket } from '../table.js';

/** One hour in ms. */
export const HOUR = 3_600_000;
/** Users of the lock tests. */
export const ada = { holder: 'ada@laptop', machineId: 'machine-ada' };
export const bob = { holder: 'bob@studio', machineId: 'machine-bob' };
export const carol = { holder: 'carol@mac', machineId: 'machine-carol' };

/** A fetch whose answers carry a `Date` header moved by `shiftMs` (a proxy or node running ahead). */
export const shiftedDate =
  (shiftMs: number): typeof fetch =>
  async (input, init) => {
    const response = await fetch(input, init);
    const headers = new Headers(response.headers);
    headers.set('date', new Date(Date.parse(headers.get('date') ?? '') + shiftMs).toUTCString());
    return new Response(response.body, { status: response.status, headers });
  };

/** The error a promise rejects with, checked to be a {@link LockError}. */
export const failure = async (p: Promise<unknown>) => {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(LockError);
  return e as LockError;
};

/** A fetch that holds the first ticket claim (a POST naming `oxvcs-locks/`) until `release()`. */
export const gatedClaims = () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  let held = false;
  const gated: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    const body = request.method === 'POST' ? await request.clone().text() : '';
    if (body.includes('oxvcs-locks/') && !held) {
      held = true;
      await gate;
    }
    return fetch(request);
  };
  return { fetch: gated, release: () => release(), held: () => held };
};
/**
 * A test world: the testkit server, a fresh repository per test, and managers whose state folder
 * (keys and chain cache) is kept per user, as on a real machine.
 */
export async function lockWorld() {
  const server: FakeOxenServer = await startFakeOxenServer();
  let n = 0;
  let url = '';
  const states = new Map<string, { keys: KeyStore; cache: ChainCache }>();
  const stateOf = (machineId: string) => {
    const id = `${url}|${machineId}`;
    let state = states.get(id);
    if (!state) {
      state = { keys: memoryKeyStore(), cache: memoryChainCache() };
      states.set(id, state);
    }
    return state;
  };
  return {
    server,
    get url() {
      return url;
    },
    /** The current repository's name. */
    get name() {
      return `rule${n}`;
    },
    hub: () => createOxenHub({ remoteUrl: url }),
    async freshRepo() {
      const name = `rule${++n}`;
      await server.createRepo('ns', name);
      url = server.repoUrl('ns', name);
      return name;
    },
    /** A manager for `identity` with its own state folder (warm after its first read). */
    managerFor(identity = ada, extra: Partial<LockManagerOptions> & { fetch?: typeof fetch } = {}) {
      const { fetch: f, ...rest } = extra;
      return createLockManager({
        hub: createOxenHub({ remoteUrl: url, timeoutMs: 60_000, ...(f ? { fetch: f } : {}) }),
        identity,
        ...stateOf(identity.machineId),
        ...rest,
      });
    },
    /** A manager on a new machine: nothing cached. */
    coldManager(identity = carol, extra: Partial<LockManagerOptions> = {}) {
      return createLockManager({
        hub: createOxenHub({ remoteUrl: url, timeoutMs: 60_000 }),
        identity,
        ...extra,
      });
    },
    /** The record (parsed commit message) of ticket `n`. */
    async recordOf(ticket: number): Promise<Record<string, unknown>> {
      const hub = createOxenHub({ remoteUrl: url });
      const commit = await hub.getCommit((await hub.getBranch(chainTicket(ticket))).commit_id);
      return JSON.parse(commit.message) as Record<string, unknown>;
    },
    /** Makes ticket `ticket` hold `message`, written by a collaborator with write access (pushed). */
    async forge(ticket: number, message: string | object, timestamp?: string) {
      const text = typeof message === 'string' ? message : JSON.stringify(message);
      const id = server.pushCommit('ns', `rule${n}`, {
        message: text,
        author: 'mallory',
        ...(timestamp ? { timestamp } : {}),
      });
      await createOxenHub({ remoteUrl: url }).createBranchFromCommit(chainTicket(ticket), id);
    },
    /** Ticket numbers of the chain, newest first. */
    async chain() {
      return (await createOxenHub({ remoteUrl: url }).listBranches())
        .filter((b) => b.name.startsWith('oxvcs-locks/'))
        .map((b) => Number(b.name.slice(-10)))
        .sort((x, y) => y - x);
    },
    stop: () => server.stop(),
  };
}
