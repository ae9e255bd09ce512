import { resultFailed } from "../../../provider/plan/release-result";

// Row: [case, lastResult, expected]
const ROWS: [string, unknown, boolean][] = [
  ["no result (created before lastResult existed)", undefined, false],
  ["not an object", "upgrade", false],
  ["success without a gate", { action: "upgrade" }, false],
  ["success with a passed gate", { action: "upgrade", gate: { passed: true } }, false],
  ["an error", { action: "none", error: "exit 2" }, true],
  ["a gate that did not pass", { action: "adopt", gate: { passed: false } }, true],
  ["a client-impact gate that did not pass", { action: "upgrade", clientImpact: { passed: false } }, true],
  ["a client-impact gate that passed", { action: "upgrade", clientImpact: { passed: true } }, false],
];

test.each(ROWS)("resultFailed: %s", (_name, result, expected) => {
  expect(resultFailed(result)).toBe(expected);
});
