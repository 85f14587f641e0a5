import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readText, replaceFile } from '@oxvcs/durable';

/** The machine id kept in `stateDir/machine-id`: created once, stable afterwards. */
export function loadMachineId(stateDir: string): string {
  const file = join(stateDir, 'machine-id');
  const kept = readText(file)?.trim();
  if (kept && /^[A-Za-z0-9-]{8,64}$/.test(kept)) return kept;
  mkdirSync(stateDir, { recursive: true });
  const id = globalThis.crypto.randomUUID(); // Web Crypto global: no node:crypto import at start-up
  replaceFile(file, `${id}\n`);
  return id;
}
