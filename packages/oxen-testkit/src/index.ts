export { createFakeOxenEnv, type FakeOxenEnv } from './env.js';
export { type ActiveFault, type FaultKind, type FaultRule, seededRandom } from './faults.js';
export type { CommitRecord } from './model.js';
export { type FakeNotifiers, fakeNotifiers } from './notifiers.js';
export { fakeOxenBinDir } from './paths.js';
export {
  type FakeOxenServer,
  type FakeOxenServerOptions,
  type FakeOxenSettings,
  type FaultController,
  type RequestLogEntry,
  startFakeOxenServer,
} from './server.js';
export { createTestWorld, type TestWorld } from './world.js';
