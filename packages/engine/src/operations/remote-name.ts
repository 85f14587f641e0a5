import { OxenError, readRepositoryRemote } from '@oxvcs/oxen';

/** The name of `remoteUrl` in the project's Oxen config (the CLI pushes to names, not URLs). */
export function remoteNameFor(projectDir: string, remoteUrl: string): string {
  const configured = readRepositoryRemote(projectDir);
  if (configured.url.replace(/\/+$/, '') === remoteUrl.replace(/\/+$/, '')) return configured.name;
  throw new OxenError(
    'NO_REMOTE',
    `${remoteUrl} is not the remote configured in ${projectDir}; add it with: oxen config --set-remote origin ${remoteUrl}`,
  );
}
