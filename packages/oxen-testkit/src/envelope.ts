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

/** The documented "Branch does not exist" 404. */
export const branchMissing = () =>
  richError(404, 'resource_not_found', { type: 'resource_not_found', title: 'Branch does not exist' });

/** An unmapped server error: HTTP 500 with the error text as title. */
export const internal = (title: string) =>
  richError(500, 'internal_server_error', { type: 'internal_server_error', title });

/** Unknown route. */
export const notFoundRoute = () => simpleError(404, 'resource_not_found', 'Resource not found');

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
