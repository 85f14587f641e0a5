export { buildCli, EXIT_CODES_HELP, runCli, VERSION } from './cli.js';
export type { CliContext } from './context.js';
export { EXIT } from './output.js';
