export { createFakeOxenEnv, type FakeOxenEnv } from './env.js';
export {
  type ActiveFault,
  FAULT_KINDS,
  type FaultKind,
  type FaultRule,
  pickFault,
  seededRandom,
} from './faults.js';
export { type CommitRecord, invalidBranchName, MIN_CLI_VERSION, OXEN_VERSION } from './model.js';
export { type FakeNotifiers, fakeNotifiers } from './notifiers.js';
export { fakeOxenBinDir } from './paths.js';
export {
  type FakeOxenServer,
  type FakeOxenServerOptions,
  type FakeOxenSettings,
  type FaultController,
  type RequestLogEntry,
  startFakeOxenServer,
  UPLOAD_LIMIT_BYTES,
} from './server.js';
export { createTestWorld, type TestWorld } from './world.js';
