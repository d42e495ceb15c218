// Probot is ESM-only, so jest runs in ESM mode (NODE_OPTIONS=--experimental-vm-modules, set by
// the npm scripts) and swc strips the types; `tsc --noEmit` type-checks separately.
const shared = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2023' }, module: { type: 'es6' } },
    ],
  },
  testEnvironment: 'node',
};

export default {
  // A ceiling for hung tests, not a speed check: on a loaded 2-core CI machine a sandboxed
  // command that allocates hundreds of MB can take longer than jest's 5 s default.
  testTimeout: 30_000,
  // A registry of the processes tests start; the teardown kills what is left (child-registry.ts).
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  // Four files at a time on these 2-core machines: most of an end-to-end test is waiting (on
  // GitHub's write spacing, retries, the app process). Measured here: jest took 1,066-1,132 s at
  // two, 349-465 s at four (the cores about half busy), and six was no faster (497 s).
  maxWorkers: 4,
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...shared,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
    },
    { ...shared, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'] },
  ],
};
