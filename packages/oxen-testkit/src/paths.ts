import { fileURLToPath } from 'node:url';

/** Folder holding the fake `oxen` executable; put it first on PATH. */
export function fakeOxenBinDir(): string {
  return fileURLToPath(new URL('../bin', import.meta.url));
}
