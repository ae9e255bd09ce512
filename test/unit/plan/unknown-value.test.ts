import { isUnknown, UNKNOWN_VALUE } from "../../../provider/plan/unknown-value";

// Row: [case, value, unknown?]
const ROWS: [string, unknown, boolean][] = [
  ["the sentinel", UNKNOWN_VALUE, true],
  ["inside an object", { a: { b: UNKNOWN_VALUE } }, true],
  ["inside an array", ["x", UNKNOWN_VALUE], true],
  ["a plain string", "4.4.16", false],
  ["an object without it", { a: 1, b: [null] }, false],
  ["undefined", undefined, false],
];
test.each(ROWS)("%s", (_case, value, unknown) => expect(isUnknown(value)).toBe(unknown));
