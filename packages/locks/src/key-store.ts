import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readText, replaceFile } from '@oxvcs/durable';
import type { KeyStore } from './proof.js';

/**
 * A {@link KeyStore} on disk: one file per lease (`<dir>/<lockId>`, mode 0600, in a 0700 folder),
 * so a program that acquires, restarts and then renews or releases still holds the lease's key,
 * and two processes taking two locks at once never overwrite each other's key. Each file is
 * written whole or not at all. A FIFO, folder or link where a key belongs throws `@oxvcs/durable`'s
 * `StateFileError` (`code: 'NOT_A_FILE'`), never reads as "no key" (which would look like someone
 * else's lock). Keep `dir` private to the user: whoever can read it can release their leases.
 */
export function fileKeyStore(dir: string): KeyStore {
  const fileOf = (lockId: string) => join(dir, lockId.replace(/[^A-Za-z0-9-]/g, '_'));
  return {
    get: (lockId) => readText(fileOf(lockId))?.trim() || undefined,
    set(lockId, privateKey) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      replaceFile(fileOf(lockId), privateKey, { mode: 0o600 });
    },
    delete(lockId) {
      rmSync(fileOf(lockId), { force: true });
    },
  };
}
