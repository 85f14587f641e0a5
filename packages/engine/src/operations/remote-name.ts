import { OxenError, readRepositoryRemote } from '@oxvcs/oxen';
import { checkName, refuse } from '../input.js';

/**
 * The name of `remoteUrl` in the project's Oxen config (the CLI pushes to names, not URLs);
 * INVALID_INPUT when that name could not safely be handed to oxen (see `checkName`).
 */
export function remoteNameFor(projectDir: string, remoteUrl: string): string {
  const configured = readRepositoryRemote(projectDir);
  if (configured.url.replace(/\/+$/, '') === remoteUrl.replace(/\/+$/, ''))
    return refuse(configured.name, checkName('remote-name', configured.name));
  throw new OxenError(
    'NO_REMOTE',
    `${remoteUrl} is not the remote configured in ${projectDir}; add it with: oxen config --set-remote origin ${remoteUrl}`,
  );
}
