// The bound of the "stays fast on pathological input" tests. They guard against super-linear
// work (a backtracking regex, a quadratic scan), which on their megabytes of input takes minutes;
// they are not speed tests (speed lives in bench/, as ratios). So the bound is loose enough for a
// machine busy with other jobs, where a linear pass that takes 0.2 s alone can take seconds.
export const SUPERLINEAR_BOUND_MS = 30_000;

/** Fails when more than SUPERLINEAR_BOUND_MS passed since `startedMs` (a Date.now()). */
export function expectNotSuperlinear(startedMs: number): void {
  expect(Date.now() - startedMs).toBeLessThan(SUPERLINEAR_BOUND_MS);
}
