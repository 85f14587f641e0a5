// Preloaded with --import: records every module the process resolves and, at exit, prints on
// stderr which heavy ones were loaded: ink, react, the engine, and the engine's network half
// ("online") — as packages (node_modules, workspace dist) or as chunks of the CLI's bundle — and
// Node's own undici (what its fetch, Request, Response, Headers and FormData load on first touch).
import { registerHooks } from 'node:module';

const seen = new Set();
registerHooks({
  resolve(specifier, context, next) {
    const result = next(specifier, context);
    seen.add(result.url);
    return result;
  },
});
const HEAVY =
  /node_modules\/(ink|react)\/|\/packages\/(engine)\/dist\/(?:(online)\.js)?|\/dist\/bundle\/(engine|online)\.js$/;
process.on('exit', () => {
  const heavy = new Set();
  for (const url of seen) {
    const m = HEAVY.exec(url);
    if (m) for (const name of m.slice(1)) if (name) heavy.add(name);
  }
  if (process.moduleLoadList.some((m) => m.endsWith('internal/deps/undici/undici'))) heavy.add('undici');
  process.stderr.write(`TRACE ${JSON.stringify([...heavy].sort())}\n`);
});
