/** Jest runs unit tests (in-process, via ts-jest) and integration tests (the built CLI as a child process). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'test/tsconfig.json' }] },
  testTimeout: 60000,
  // Rebuilds dist/ first when src/ is newer: the CLI under test is the built one.
  globalSetup: '<rootDir>/test/helpers/check-build.js',
  maxWorkers: 2,
};
