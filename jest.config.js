// Two projects: `unit` (specs beside the code in src, *.spec.ts) runs straight from TypeScript with no build;
// `e2e` (test/**/*.e2e-spec.ts) starts the BUILT server (dist/src/main.js), so only it has the global setup
// that checks for dist/. `npm run test:unit` = `jest --selectProjects unit`.
const common = {
  moduleFileExtensions: ['js', 'json', 'ts'],
  rootDir: '.',
  // the client package (client/) is built and tested through its build, by the specs under test/
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/client/'],
  transform: { '^.+\\.ts$': ['ts-jest', {}] },
  testEnvironment: 'node',
};

module.exports = {
  testTimeout: 60000,
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/src/**/*.spec.ts'],
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
