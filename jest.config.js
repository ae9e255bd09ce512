// Three projects: `unit` is pure and fast (npm run test:unit), `integration` starts real OpenSSH
// sshd test hosts on loopback, `e2e` drives the real pulumi CLI. `npm test` runs all three.
const common = {
  preset: "ts-jest",
  testEnvironment: "node",
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json", diagnostics: { warnOnly: false } }] },
};

module.exports = {
  // jest reads testTimeout only at the top level, not per project: integration and e2e tests start
  // real sshd hosts and the real engine, so give every test room; unit tests stay fast regardless.
  testTimeout: 600000,
  projects: [
    { ...common, displayName: "unit", testMatch: ["<rootDir>/test/unit/**/*.test.ts"] },
    { ...common, displayName: "integration", testMatch: ["<rootDir>/test/integration/**/*.test.ts"] },
    { ...common, displayName: "e2e", testMatch: ["<rootDir>/test/e2e/**/*.test.ts"] },
  ],
};
