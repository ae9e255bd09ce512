// The shape rules of clientImpact, onGateFailure and retryAfterRollback.
import { checkClientImpactInputs } from "../../../provider/plan/check-client-impact";
import { UNKNOWN_VALUE } from "../../../provider/plan/check-inputs";

// Row: [case, inputs, expected properties refused]
const ROWS: [string, Record<string, unknown>, string[]][] = [
  ["accepts no gate", {}, []],
  ["accepts the defaults ({})", { clientImpact: {} }, []],
  [
    "accepts every input",
    {
      clientImpact: {
        deadlineSeconds: 30,
        maxConnectionDropPercent: 0,
        maxShutdownGrowthPercent: 2.5,
        requireSamePlugins: false,
      },
      onGateFailure: "downgrade",
      retryAfterRollback: true,
    },
    [],
  ],
  [
    "skips values unknown in preview",
    { clientImpact: { maxConnectionDropPercent: UNKNOWN_VALUE }, onGateFailure: UNKNOWN_VALUE },
    [],
  ],
  ["refuses a gate that is not an object", { clientImpact: true }, ["clientImpact"]],
  [
    "refuses a percentage over 100",
    { clientImpact: { maxConnectionDropPercent: 101 } },
    ["clientImpact.maxConnectionDropPercent"],
  ],
  [
    "refuses a negative percentage",
    { clientImpact: { maxShutdownGrowthPercent: -1 } },
    ["clientImpact.maxShutdownGrowthPercent"],
  ],
  [
    "refuses a deadline shorter than two stats ticks",
    { clientImpact: { deadlineSeconds: 1 } },
    ["clientImpact.deadlineSeconds"],
  ],
  ["refuses a fractional deadline", { clientImpact: { deadlineSeconds: 10.5 } }, ["clientImpact.deadlineSeconds"]],
  [
    "refuses an unknown key (a typo)",
    { clientImpact: { maxConnectionsDropPercent: 5 } },
    ["clientImpact.maxConnectionsDropPercent"],
  ],
  ["accepts probe: true and a probe listener", { clientImpact: { probe: true } }, []],
  ["accepts a probe listener", { clientImpact: { probe: { host: "127.0.0.1", port: 11883 } } }, []],
  ["refuses a probe port out of range", { clientImpact: { probe: { port: 70000 } } }, ["clientImpact.probe.port"]],
  ["refuses a probe host with spaces", { clientImpact: { probe: { host: "a b" } } }, ["clientImpact.probe.host"]],
  ["refuses a probe that is a string", { clientImpact: { probe: "127.0.0.1:11883" } }, ["clientImpact.probe"]],
  ["refuses another onGateFailure", { onGateFailure: "rollback" }, ["onGateFailure"]],
  ["refuses a retryAfterRollback that is not a boolean", { retryAfterRollback: "yes" }, ["retryAfterRollback"]],
];
test.each(ROWS)("%s", (_c, inputs, properties) => {
  expect(checkClientImpactInputs(inputs).map((r) => r.property)).toEqual(properties);
});

test("says what onGateFailure values do", () => {
  expect(checkClientImpactInputs({ onGateFailure: "rollback" })[0].reason).toMatch(
    /must be "halt" \(leave the node on the new release\) or "downgrade"/,
  );
});
