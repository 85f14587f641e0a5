import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { createFakeOxenEnv, type FakeOxenEnv } from './env.js';
import { type FakeOxenServer, type FakeOxenServerOptions, startFakeOxenServer } from './server.js';

/**
 * One test world: a fake oxen-server on loopback, a fake-`oxen` environment, and folders made
 * under one temp root that `close()` removes. Every test file that needs a remote and projects
 * starts one in `beforeAll` and closes it in `afterAll`.
 */
export interface TestWorld {
  readonly server: FakeOxenServer;
  readonly env: FakeOxenEnv;
  /** The namespace projects are created in. */
  readonly namespace: string;
  /**
   * A fresh repository `name` on the server (with `files`, a README by default) cloned into a new
   * project folder; resolves to the folder. Each name may be used once per world.
   */
  project(name: string, files?: Record<string, string>): Promise<string>;
  /** The remote URL of the repository `name` (made by `project`). */
  remote(name: string): string;
  /** A new empty folder under the world's root (a state folder, a second user's home…). */
  folder(label?: string): string;
  /**
   * The environment of an oxvcs client in this world: the fake `oxen` first on PATH, its own state
   * folder (`home`) and holder name, no desktop notifications, and patient network bounds: the
   * server is in this process on loopback, so offline is a closed port (refused at once) and a slow
   * answer only means a busy machine, never an offline one. `extra` overrides any of it.
   */
  vars(options: {
    readonly home: string;
    readonly holder?: string;
    readonly extra?: NodeJS.ProcessEnv;
  }): NodeJS.ProcessEnv;
  close(): Promise<void>;
}

export async function createTestWorld(
  options: FakeOxenServerOptions & { readonly namespace?: string } = {},
): Promise<TestWorld> {
  const { namespace = 'ns', ...serverOptions } = options;
  const server = await startFakeOxenServer(serverOptions);
  const env = createFakeOxenEnv();
  const remote = (name: string) => server.repoUrl(namespace, name);
  return {
    server,
    env,
    namespace,
    async project(name, files) {
      await server.createRepo(namespace, name, files);
      return env.cloneProject(name, remote(name));
    },
    remote,
    vars: ({ home, holder = 'ada@laptop', extra }) => ({
      ...env.env,
      OXENVCS_HOME: home,
      OXENVCS_HOLDER: holder,
      OXENVCS_CONNECTIVITY_CACHE_SECONDS: '0',
      OXENVCS_CONNECTIVITY_TIMEOUT_MS: '120000',
      OXENVCS_CONNECTIVITY_REQUEST_TIMEOUT_MS: '600000',
      OXENVCS_RETRY_INITIAL_BACKOFF_MS: '10',
      OXENVCS_RETRY_MAX_BACKOFF_MS: '200',
      OXENVCS_UI_NOTIFICATIONS: 'false',
      ...extra,
    }),
    folder: (label = 'dir') => mkdtempSync(join(env.root, `${label.replace(/[^\w-]/g, '_')}-`)),
    async close() {
      await server.stop();
      env.cleanup();
    },
  };
}
