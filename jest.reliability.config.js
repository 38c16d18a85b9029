/**
 * The reliability suite (`npm run test:reliability`): faults, bad input, load and a bounded soak,
 * kept out of the default `jest` run. Same transform and module mapping as jest.config.js; one
 * file at a time, because the cases measure time, sockets and memory on a shared 2-core machine.
 * @type {import('jest').Config}
 */
const base = require('./jest.config.js');

module.exports = {
  ...base,
  roots: ['<rootDir>/test/reliability'],
  testPathIgnorePatterns: ['/node_modules/'],
  maxWorkers: 1,
  testTimeout: 120_000,
  globalSetup: '<rootDir>/test/reliability/support/global-setup.js',
  globalTeardown: '<rootDir>/test/reliability/support/global-teardown.js',
  testSequencer: '<rootDir>/test/reliability/support/sequencer.js',
};
