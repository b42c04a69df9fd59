/** Benchmarks: run with `npm run bench`. They print figures and assert nothing about time. */
module.exports = {
  testEnvironment: 'node',
  rootDir: '..',
  roots: ['<rootDir>/bench'],
  testMatch: ['**/*.bench.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'test/tsconfig.json' }] },
  testTimeout: 300000,
  // Rebuilds dist/ first when src/ is newer: the CLI under test is the built one.
  globalSetup: '<rootDir>/test/helpers/check-build.js',
};
