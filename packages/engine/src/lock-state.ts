import { join } from 'node:path';
import { StateFileError } from '@oxvcs/durable';
import { type CachedChain, type ChainCache, type KeyStore, fileKeyStore as lockKeyStore } from '@oxvcs/locks';
import { readState, stateNotAFile, writeState } from './state.js';

// node:crypto loaded on first use: a command that never hashes (queue status) does not pay for it.
const crypto = () => process.getBuiltinModule('node:crypto');

/**
 * The private keys of this user's leases (`lock-keys/`): `@oxvcs/locks`' file key store, with a
 * FIFO, folder or link where a key belongs named in the engine's words.
 */
export function fileKeyStore(dir: string): KeyStore {
  const store = lockKeyStore(dir);
  return {
    get(lockId) {
      try {
        return store.get(lockId);
      } catch (error) {
        throw error instanceof StateFileError ? stateNotAFile(error) : error;
      }
    },
    set: store.set,
    delete: store.delete,
  };
}

/** What this machine last learnt of a remote's lock chain (`chains/<hash of the remote>.json`). */
export function fileChainCache(dir: string, remoteUrl: string): ChainCache {
  const file = join(
    dir,
    `${crypto().createHash('sha256').update(remoteUrl).digest('hex').slice(0, 24)}.json`,
  );
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
  return join(
    dir,
    `${crypto().createHash('sha256').update(`${remoteUrl}#${key}`).digest('hex').slice(0, 24)}.json`,
  );
}
