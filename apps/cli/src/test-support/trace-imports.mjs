// Preloaded with --import: records every module the process resolves and, at exit, prints on
// stderr which heavy ones (ky, ink, react, the engine) were loaded.
import { registerHooks } from 'node:module';

const seen = new Set();
registerHooks({
  resolve(specifier, context, next) {
    const result = next(specifier, context);
    seen.add(result.url);
    return result;
  },
});
process.on('exit', () => {
  const heavy = [...seen].filter((u) =>
    /node_modules\/(ky|ink|react)\/|\/packages\/engine\/|@oxvcs\+engine|@oxvcs\/engine/.test(u),
  );
  process.stderr.write(
    `TRACE ${JSON.stringify(heavy.map((u) => (/(ky|ink|react|engine)/.exec(u) ?? [''])[0]))}\n`,
  );
});
