import { createHash } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readText, replaceFile, StateFileError } from '@oxvcs/durable';
import type { CachedChain, ChainCache, KeyStore } from '@oxvcs/locks';
import { readState, stateNotAFile, writeState } from './state.js';

/**
 * The private keys of this user's leases: one file per lease (`lock-keys/<lockId>`, mode 0600, in
 * a 0700 folder), so two processes taking two locks at once never overwrite each other's key.
 */
export function fileKeyStore(dir: string): KeyStore {
  const fileOf = (lockId: string) => join(dir, lockId.replace(/[^A-Za-z0-9-]/g, '_'));
  return {
    get(lockId) {
      try {
        return readText(fileOf(lockId))?.trim() || undefined;
      } catch (error) {
        // A FIFO, folder or link where the key belongs is named, not taken for "no key" (which
        // would read as someone else's lock).
        if (error instanceof StateFileError) throw stateNotAFile(error);
        throw error;
      }
    },
    set(lockId, privateKey) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      replaceFile(fileOf(lockId), privateKey, { mode: 0o600 });
    },
    delete(lockId) {
      rmSync(fileOf(lockId), { force: true });
    },
  };
}

/** What this machine last learnt of a remote's lock chain (`chains/<hash of the remote>.json`). */
export function fileChainCache(dir: string, remoteUrl: string): ChainCache {
  const file = join(dir, `${createHash('sha256').update(remoteUrl).digest('hex').slice(0, 24)}.json`);
  return {
    load: () => readState<CachedChain | undefined>(file, undefined),
    save: (chain) => {
      try {
        writeState(file, chain);
      } catch {
        // A cache: the next read starts from the server (a full disk must not fail a lock change
        // that happened, nor a status).
      }
    },
  };
}

/** The heartbeat note of one lock (`heartbeats/<hash of remote#key>.json`): one keep-alive per lock per machine. */
export function heartbeatFile(dir: string, remoteUrl: string, key: string): string {
  return join(dir, `${createHash('sha256').update(`${remoteUrl}#${key}`).digest('hex').slice(0, 24)}.json`);
}
