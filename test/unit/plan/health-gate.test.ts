import { HEALTH_GATE_DEFAULTS, HealthGateInputs, resolveHealthGate } from "../../../provider/plan/health-gate";

// Row: [declared gate, the gate resolveHealthGate makes of it]
const ROWS: [HealthGateInputs | undefined, ReturnType<typeof resolveHealthGate>][] = [
  [undefined, undefined],
  [{}, { deadlineSeconds: 120, command: undefined, requireClusterRunning: false }],
  [{ deadlineSeconds: 30 }, { deadlineSeconds: 30, command: undefined, requireClusterRunning: false }],
  [
    { command: ["curl", "-fsS", "http://127.0.0.1:18083/status"], requireClusterRunning: true },
    { deadlineSeconds: 120, command: ["curl", "-fsS", "http://127.0.0.1:18083/status"], requireClusterRunning: true },
  ],
];
test.each(ROWS)("resolveHealthGate(%j) = %j", (declared, resolved) => {
  expect(resolveHealthGate(declared)).toEqual(resolved);
});

test("the defaults are the documented ones (README healthGate table, HealthGateInputs @default)", () => {
  expect(HEALTH_GATE_DEFAULTS).toEqual({ deadlineSeconds: 120, requireClusterRunning: false });
});
