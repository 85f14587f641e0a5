import { OXEN_VERSION } from './model.js';

/** A response the fake server sends: status, JSON or text body, extra headers. */
export interface Reply {
  readonly status: number;
  readonly body?: unknown;
  readonly text?: string;
  readonly bytes?: Buffer;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Success envelope: `{status:"success", status_message, oxen_version, …payload}`. */
export function ok(statusMessage: string, payload: Record<string, unknown> = {}): Reply {
  return {
    status: 200,
    body: { status: 'success', status_message: statusMessage, oxen_version: OXEN_VERSION, ...payload },
  };
}

/** Simple error envelope with `status_description`. */
export function simpleError(status: number, statusMessage: string, description: string): Reply {
  return {
    status,
    body: {
      status: 'error',
      status_message: statusMessage,
      oxen_version: OXEN_VERSION,
      status_description: description,
    },
  };
}

/** Rich error envelope (no oxen_version). */
export function richError(
  status: number,
  statusMessage: string,
  error: { type: string; title: string; detail?: string },
): Reply {
  return { status, body: { error, status: 'error', status_message: statusMessage } };
}

/** `StatusMessage::error(msg)`: the message itself goes in `status_message` (no description). */
export function statusMessage(status: number, message: string): Reply {
  return { status, body: { status: 'error', status_message: message, oxen_version: OXEN_VERSION } };
}

/** `OxenHttpError::BadRequest(detail)`: a rich 400 titled "Bad Request". */
export const badRequest = (detail: string) =>
  richError(400, 'bad_request', { type: 'bad_request', title: 'Bad Request', detail });

/** The documented "Branch does not exist" 404 (`OxenError::BranchNotFound`). */
export const branchMissing = (name?: string) =>
  richError(404, 'resource_not_found', {
    type: 'resource_not_found',
    title: 'Branch does not exist',
    ...(name === undefined ? {} : { detail: `Could not find branch: Branch '${name}' not found` }),
  });

/** `OxenError::PathDoesNotExist`: what `parse_resource` answers when no branch or commit prefixes the path. */
export const pathMissing = (resource: string) =>
  richError(404, 'resource_not_found', {
    type: 'resource_not_found',
    title: 'Path does not exist',
    detail: `Could not find path: ${resource}`,
  });

/** `OxenError::RevisionNotFound`: an unknown commit id or branch name. */
export const revisionMissing = (revision: string) =>
  richError(404, 'resource_not_found', {
    type: 'resource_not_found',
    title: 'Revision not found',
    detail: `Could not find branch or commit: ${revision}`,
  });

/**
 * `OxenError::NoChanges`: nothing staged differs from the parent commit. A 422 with its own type
 * from oxen-server 0.52.10 on; before that it fell to the catch-all 500.
 */
export const noChanges = (has422: boolean) =>
  has422
    ? richError(422, 'bad_request', {
        type: 'no_changes',
        title: 'No changes to commit',
        detail: 'Nothing staged differs from the parent commit, so there is nothing to commit.',
      })
    : internal('No changes to commit');

/** `OxenError::WorkspaceBehind` as any handler that lets it bubble up renders it (`PUT /file`). */
export const workspaceBehind = (workspaceId: string, commitId: string) =>
  richError(409, 'conflict', {
    type: 'conflict',
    title: 'Workspace is behind',
    detail: `Workspace '${workspaceId}' is behind at commit ${commitId}`,
  });

/** An unmapped server error: HTTP 500 with the error text as title. */
export const internal = (title: string) =>
  richError(500, 'internal_server_error', { type: 'internal_server_error', title });

/** Unknown route (`controllers/not_found.rs`): no `status_description`. */
export const notFoundRoute = (): Reply => ({
  status: 404,
  body: { status: 'error', status_message: 'resource_not_found', oxen_version: OXEN_VERSION },
});

/** The only 429 oxen-server sends: the repository maintenance lock. */
export const maintenance = (): Reply => ({
  status: 429,
  headers: { 'retry-after': '5' },
  body: {
    error: {
      type: 'lock_timeout',
      title: 'Repository is busy',
      detail: 'The repository is locked for maintenance. Try again later.',
    },
    status: 'error',
    status_message: 'too_many_requests',
  },
});
