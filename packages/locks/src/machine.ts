import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The machine id kept in `stateDir/machine-id`: created once, stable afterwards. */
export function loadMachineId(stateDir: string): string {
  const file = join(stateDir, 'machine-id');
  try {
    const id = readFileSync(file, 'utf8').trim();
    if (/^[A-Za-z0-9-]{8,64}$/.test(id)) return id;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(stateDir, { recursive: true });
  const id = globalThis.crypto.randomUUID(); // Web Crypto global: no node:crypto import at start-up
  writeFileSync(file, `${id}\n`, { flag: 'w' });
  return id;
}
