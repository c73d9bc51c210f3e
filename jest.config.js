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

// STEPLINE_BROWSER_TESTS=0 leaves out the specs that drive Chromium (the dashboard, and the client in a
// browser). .ci/run sets it for its second pass, on MariaDB: what those pages do does not depend on the
// database (the API they call is tested on both), the first pass (SQLite) runs them, and running them twice
// took ~3.5 of CI's 30 minutes on a two-core machine.
// named one by one: a new spec runs on both databases unless it is added here
const BROWSER_SPECS = [
  'client-browser',
  'dashboard',
  'dashboard-family',
  'dashboard-keyboard',
  'dashboard-live',
  'dashboard-look',
  'dashboard-panel',
  'dashboard-v2',
  'dashboard-views',
].map((name) => `<rootDir>/test/${name}\\.e2e-spec\\.ts$`);
const withoutBrowser = process.env.STEPLINE_BROWSER_TESTS === '0';

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
      testPathIgnorePatterns: [...common.testPathIgnorePatterns, ...(withoutBrowser ? BROWSER_SPECS : [])],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
