// The engine functions the CLI calls, in one module that `BaseCommand` imports lazily. Naming them
// here (not `import('@oxvcs/engine')`) lets the bundler leave the network half out of the
// start-up chunk: it is loaded by the engine itself on the first network operation.
export { createEngine, describeOperation, isRunning, loadTake } from '@oxvcs/engine';
