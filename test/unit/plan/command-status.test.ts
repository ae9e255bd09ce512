import { CommandEnd, describeCommandEnd } from "../../../provider/plan/command-status";

// Row: [how the command ended, timeout given, words]
const ROWS: [CommandEnd, number | undefined, string][] = [
  [{ exitCode: 0, signal: null, timedOut: false }, undefined, "exited 0"],
  [{ exitCode: 127, signal: null, timedOut: false }, 5000, "exited 127"],
  [{ exitCode: null, signal: null, timedOut: true }, 2000, "timed out after 2 s"],
  [{ exitCode: null, signal: null, timedOut: true }, 1499, "timed out after 1 s"],
  [{ exitCode: null, signal: null, timedOut: true }, 200, "timed out after 200 ms"],
  [{ exitCode: null, signal: null, timedOut: true }, undefined, "timed out"],
  [{ exitCode: null, signal: "SIGKILL", timedOut: false }, undefined, "was killed by SIGKILL"],
  [{ exitCode: null, signal: null, timedOut: false }, undefined, "was killed (no exit status)"],
];
test.each(ROWS)("describeCommandEnd(%j, %p) = %p", (end, timeoutMs, words) => {
  expect(describeCommandEnd(end, timeoutMs)).toBe(words);
});
