import {
  ErlangTermSyntaxError,
  isEndDot,
  MAX_TERM_TEXT_CHARS,
  openScanner,
  parseAdjacentStrings,
  parseChar,
  parseNumber,
  parseQuoted,
  Scanner,
  skipSpace,
} from "../../../provider/plan/erlang-term-scanner";

/** Runs `read` on a scanner over `text` and returns what it read and where the scanner stopped. */
function scan<T>(text: string, read: (s: Scanner) => T): { value: T; pos: number } {
  const s = openScanner(text);
  const value = read(s);
  return { value, pos: s.pos };
}

describe("parseNumber", () => {
  // [text, value, position after the number]
  const cases: Array<[string, number, number]> = [
    ["0", 0, 1],
    ["42.", 42, 2], // the dot ends the sentence, it is not a decimal point
    ["42.x", 42, 2],
    ["3.25,", 3.25, 4],
    ["1.0e10]", 1e10, 6],
    ["1.0e+2", 100, 6],
    ["1e5", NaN, 0], // Erlang needs a fraction before the exponent; see the failing cases
    ["2#101", 5, 5],
    ["36#zz", 36 * 36 - 1, 5],
    ["-1_0", -10, 4],
    ["+5", 5, 2],
  ];
  it.each(cases.filter(([, v]) => !Number.isNaN(v)))("reads %s as %d and stops at %d", (text, value, pos) => {
    const r = scan(text, parseNumber);
    expect((r.value as { value: number }).value).toBe(value);
    expect(r.pos).toBe(pos);
  });

  // [text, words the reason contains]
  const failures: Array<[string, string]> = [
    ["1e5", "malformed number"],
    ["1#0", "radix 1"],
    ["2#", "base-2 digits"],
    ["2#3", "base-2 digits"],
    ["1__0", "malformed number"],
  ];
  it.each(failures)("fails on %s", (text, reason) => {
    expect(() => scan(text, parseNumber)).toThrow(reason);
  });
});

describe("strings, quoted atoms and characters", () => {
  // [text, value]
  const strings: Array<[string, string]> = [
    ['""', ""],
    ['"\\s\\d\\e\\b\\f\\v\\r"', " \u007f\u001b\b\f\u000b\r"],
    ['"\\7\\77\\777"', "\u0007?\u01ff"],
    ['"\\x{1F600}"', "\u{1F600}"],
    ['"\\q"', "q"], // an unknown escape stands for the character itself
    ['"a" "b"  %c\n "c"', "abc"],
  ];
  it.each(strings)("reads %s", (text, value) => {
    expect(scan(text, parseAdjacentStrings).value).toBe(value);
  });

  // [text, words the reason contains]
  const failures: Array<[string, string]> = [
    ['"abc', "unterminated string"],
    ['"\\', "unterminated escape"],
    ['"\\x{}"', "malformed \\x"],
    ['"\\x{110000}"', "beyond Unicode"],
    ['"\\x{12"', "malformed \\x{...}"],
    ['"\\^', "unterminated \\^"],
  ];
  it.each(failures)("fails on %s", (text, reason) => {
    expect(() => scan(text, parseAdjacentStrings)).toThrow(reason);
  });

  it("reads a quoted atom up to its closing quote", () => {
    expect(scan("'a b'c", (s) => parseQuoted(s, "'"))).toEqual({ value: "a b", pos: 5 });
  });

  it("reads a character literal beyond the BMP as one code point", () => {
    expect(scan("$\u{1F600}", parseChar).value).toEqual({ type: "int", value: 0x1f600, text: "$\u{1F600}" });
  });

  it("fails on a lone $", () => {
    expect(() => scan("$", parseChar)).toThrow("unterminated character literal");
  });
});

describe("skipSpace and isEndDot", () => {
  // [text, position after the space, is the next char an end dot]
  const cases: Array<[string, number, boolean]> = [
    ["", 0, false],
    [" \t\r\n\u00a0x", 5, false],
    ["% comment\n  .", 12, true],
    ["% comment without newline", 25, false],
    [". ", 0, true],
    [".%", 0, true],
    ["..", 0, false],
    [".5", 0, false],
  ];
  it.each(cases)("on %j stops at %d (end dot: %s)", (text, pos, endDot) => {
    const s = openScanner(text);
    skipSpace(s);
    expect(s.pos).toBe(pos);
    expect(isEndDot(s)).toBe(endDot);
  });
});

describe("openScanner", () => {
  it("fails on text over the size limit, before reading it", () => {
    const e = (() => {
      try {
        openScanner("x".repeat(MAX_TERM_TEXT_CHARS + 1));
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(ErlangTermSyntaxError.isInstance(e)).toBe(true);
    expect((e as ErlangTermSyntaxError).offset).toBe(0);
  });

  it("fails on an excerpt with control characters shown as spaces", () => {
    let caught: unknown;
    try {
      scan('"\u0001\u0002', parseAdjacentStrings);
    } catch (e) {
      caught = e;
    }
    expect((caught as ErlangTermSyntaxError).excerpt).toBe('⟨here⟩"  ');
  });

  it("does not treat a plain Error as a syntax error", () => {
    expect(ErlangTermSyntaxError.isInstance(new Error("x"))).toBe(false);
  });
});
