// Lets a child process run this repository's TypeScript sources, as the tests do through vitest's
// aliases: Node strips the types, this hook maps `./x.js` to `./x.ts` and a workspace package's
// built `dist/` entry to its `src/`. No build needed, and no stale build tested by mistake.
import { existsSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { fileURLToPath } from 'node:url';

const exists = (url) => existsSync(fileURLToPath(url));

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
      const source = new URL(`${specifier.slice(0, -3)}.ts`, context.parentURL);
      if (exists(source)) return { url: source.href, shortCircuit: true };
    }
    const resolved = nextResolve(specifier, context);
    const built = /^(file:.*\/packages\/[^/]+\/)dist\/(.*)\.js$/.exec(resolved.url);
    if (built) {
      const source = new URL(`${built[1]}src/${built[2]}.ts`);
      if (exists(source)) return { url: source.href, shortCircuit: true };
    }
    return resolved;
  },
});
