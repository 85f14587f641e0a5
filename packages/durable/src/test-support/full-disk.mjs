// Run in a private mount namespace where argv[2] is a fresh, small tmpfs (see whole-file.test.ts).
// Writes a first version of a state file, fills the disk, then tries to replace the file with a
// larger version; prints one JSON line with what happened.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const { replaceFile } = await import('../whole-file.ts');
const dir = process.argv[2];
const file = join(dir, 'queue.json');
const first = JSON.stringify({ entries: Array.from({ length: 50 }, (_, i) => ({ id: i, what: 'take' })) });
replaceFile(file, first);
// Fill what is left, but for a few KiB: the next version fits only in part.
try {
  writeFileSync(join(dir, 'audio.wav'), Buffer.alloc(1024 * 1024));
} catch {
  // ENOSPC: the filler took what there was.
}
const bigger = JSON.stringify({ entries: Array.from({ length: 5000 }, (_, i) => ({ id: i, what: 'take' })) });
let error;
try {
  replaceFile(file, bigger);
} catch (e) {
  error = e.code;
}
process.stdout.write(
  `${JSON.stringify({
    error,
    intact: readFileSync(file, 'utf8') === first,
    files: readdirSync(dir).sort(),
  })}\n`,
);
