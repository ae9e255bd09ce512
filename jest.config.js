// Three projects: `unit` is pure and fast (npm run test:unit), `integration` starts real OpenSSH
// sshd test hosts on loopback, `e2e` drives the real pulumi CLI. `npm test` runs all three.
const common = {
  preset: "ts-jest",
  testEnvironment: "node",
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json", diagnostics: { warnOnly: false } }] },
};

/** The projects' test directories: also what the reliability reporter calls the whole suite. */
const roots = { unit: "test/unit", integration: "test/integration", e2e: "test/e2e" };

module.exports = {
  // jest reads testTimeout only at the top level, not per project: integration and e2e tests start
  // real sshd hosts and the real engine, so give every test room; unit tests stay fast regardless.
  testTimeout: 600000,
  projects: Object.entries(roots).map(([displayName, dir]) => ({
    ...common,
    displayName,
    testMatch: [`<rootDir>/${dir}/**/*.test.ts`],
  })),
  // RELIABILITY.md: written after a full run from the rows tests declare with reliabilityTest
  // (test/support/reliability.ts); a full run fails when it differs from the committed file.
  reporters: ["default", ["<rootDir>/test/support/reliability-reporter-shim.js", { testRoots: Object.values(roots) }]],
};
