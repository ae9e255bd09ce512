import {
  asAtom,
  asInt,
  asList,
  asString,
  asTuple,
  ErlangTerm,
  ErlangTermSyntaxError,
  formatErlangTerm,
  mapGet,
  MAX_TERM_DEPTH,
  parseErlangTerm,
  parseErlangTerms,
  tupleTag,
} from "../../../provider/plan/erlang-term";
import { packageEntries, relFileText, relupFileText } from "../../../sandbox/package-zip";

const atom = (value: string): ErlangTerm => ({ type: "atom", value });
const str = (value: string): ErlangTerm => ({ type: "string", value });
const int = (value: number, text = String(value)): ErlangTerm => ({ type: "int", value, text });
const tuple = (...items: ErlangTerm[]): ErlangTerm => ({ type: "tuple", items });
const list = (...items: ErlangTerm[]): ErlangTerm => ({ type: "list", items });

/** Throws what `fn` throws, or fails the test if it returns. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}

describe("parseErlangTerm", () => {
  // [description, text, expected tree]
  const cases: Array<[string, string, ErlangTerm]> = [
    ["a bare atom", "permanent", atom("permanent")],
    ["an atom with @ and digits", "emqx@localhost", atom("emqx@localhost")],
    ["a quoted atom with dots", "'emqx@10.0.0.1'", atom("emqx@10.0.0.1")],
    ["a quoted atom with an escaped quote", "'it\\'s'", atom("it's")],
    ["an empty tuple", "{}", tuple()],
    ["an empty list", "[]", list()],
    ["a string with escapes", '"a\\"b\\\\c\\n\\t\\x41\\x{263A}\\101\\^A"', str('a"b\\c\n\tA\u263aA\u0001')],
    ["adjacent strings join", '"4.4" \n  ".16"', str("4.4.16")],
    ["an integer", "42", int(42)],
    ["a negative integer", "-7", int(-7)],
    ["an integer with separators", "1_000", int(1000, "1_000")],
    ["a radix integer", "16#fF", int(255, "16#fF")],
    ["a character literal", "$a", int(97, "$a")],
    ["an escaped character literal", "$\\n", int(10, "$\\n")],
    ["a float", "1.5", { type: "float", value: 1.5 }],
    ["a float with exponent", "-2.0e-3", { type: "float", value: -0.002 }],
    ["a binary string", '<<"abc">>', { type: "binary", value: "abc" }],
    ["a utf8 binary", '<<"h\u00e9"/utf8>>', { type: "binary", value: "h\u00e9" }],
    ["a binary of bytes", "<<65, 66>>", { type: "binary", value: "AB" }],
    ["an empty binary", "<<>>", { type: "binary", value: "" }],
    [
      "a map",
      '#{a => 1, <<"k">> => [x]}',
      {
        type: "map",
        entries: [
          { key: atom("a"), value: int(1) },
          { key: { type: "binary", value: "k" }, value: list(atom("x")) },
        ],
      },
    ],
    ["an empty map", "#{ }", { type: "map", entries: [] }],
    ["a pid", "<0.95.0>", { type: "opaque", text: "<0.95.0>" }],
    ["a reference", "#Ref<0.1.2.3>", { type: "opaque", text: "#Ref<0.1.2.3>" }],
    ["a trailing dot", "{a, 1}.", tuple(atom("a"), int(1))],
    ["a trailing dot before a comment", "[a]. % done\n", list(atom("a"))],
    ["comments and newlines anywhere", '% head\n{ a % first\n ,\n\t"b" }\n', tuple(atom("a"), str("b"))],
    ["an integer followed by the end dot", "[1].", list(int(1))],
    ["a UTF-8 BOM", "\ufeff{ok}", tuple(atom("ok"))],
    ["a Latin-1 atom", "\u00e5ngstr\u00f6m", atom("\u00e5ngstr\u00f6m")],
  ];
  it.each(cases)("parses %s", (_name, text, expected) => {
    expect(parseErlangTerm(text)).toEqual(expected);
  });

  it("parses the emqx.rel of a 4.4.16 package", () => {
    const rel = parseErlangTerm(relFileText({ version: "4.4.16" }));
    const [tag, nameVsn, erts, apps] = asTuple(rel, 4) ?? [];
    expect(asAtom(tag)).toBe("release");
    expect(asTuple(nameVsn)?.map(asString)).toEqual(["emqx", "4.4.16"]);
    expect(asString(asTuple(erts)?.[1])).toBe("12.3.2.2");
    expect(asList(apps)?.map((a) => asAtom(asTuple(a)?.[0]))).toEqual(["kernel", "stdlib", "sasl", "emqx"]);
  });

  it("parses a relup into its up and down keys", () => {
    const relup = parseErlangTerm(relupFileText({ version: "4.4.3" }) ?? "");
    const [vsn, up, down] = asTuple(relup, 3) ?? [];
    expect(asString(vsn)).toBe("4.4.3");
    expect(asList(up)?.map((p) => asString(asTuple(p)?.[0]))).toEqual(["4.4.2", "4.4.1", "4.4.0"]);
    expect(asList(down)?.map((p) => asString(asTuple(p)?.[0]))).toEqual(["4.4.2", "4.4.1", "4.4.0"]);
  });

  // [description, text, words the reason contains]
  const failures: Array<[string, string, string]> = [
    ["empty input", "", "found end of input"],
    ["an unterminated string", '{"4.4.16', "unterminated string"],
    ["an unterminated quoted atom", "'abc", "unterminated quoted atom"],
    ["an unclosed tuple", "{a, b", 'expected "," or "}"'],
    ["a missing comma", "[a b]", 'expected "," or "]"'],
    ["a trailing comma", "[a,]", "expected a term"],
    ["a variable", "{Name}", "variables are not allowed"],
    ["an improper list", "[a|b]", "improper lists"],
    ["two terms without a dot", "a b", "unexpected text after the term"],
    ["text after the dot", "a. b", "unexpected text after the term"],
    ["a malformed number", "12ab", "malformed number"],
    ["a bad radix", "37#1", "radix 37"],
    ["a bad \\x escape", '"\\xZZ"', "malformed \\x escape"],
    ["a map without =>", "#{a, b}", 'expected "=>"'],
    ["a bad binary segment", "<<a>>", "binary segment"],
    ["a stray closing brace", "}", "expected a term"],
  ];
  it.each(failures)("fails on %s", (_name, text, reason) => {
    const e = thrown(() => parseErlangTerm(text));
    expect(ErlangTermSyntaxError.isInstance(e)).toBe(true);
    expect((e as ErlangTermSyntaxError).reason).toContain(reason);
  });

  it("fails with the offset, line, column and an excerpt of where it stopped", () => {
    const e = thrown(() => parseErlangTerm('{"4.4.16",\n [ok, Bad]}')) as ErlangTermSyntaxError;
    expect(e.offset).toBe(17);
    expect(e.message).toContain("line 2, column 7");
    expect(e.excerpt).toContain("[ok, ⟨here⟩Bad]}");
    expect(e.excerpt).not.toContain("\n");
  });
});

describe("parseErlangTerms", () => {
  // [description, text, number of terms]
  const cases: Array<[string, string, number]> = [
    ["nothing", "", 0],
    ["only comments", "%% coding: utf-8\n", 0],
    [
      "a RELEASES file",
      '%% coding: utf-8\n[{release,"emqx","4.4.16","12.3.2.2",[{kernel,"8.1.3","lib/kernel-8.1.3"}],permanent}].\n',
      1,
    ],
    ["several sentences", "{a,1}.\n{b,2.5}.\n", 2],
  ];
  it.each(cases)("parses %s", (_name, text, count) => {
    expect(parseErlangTerms(text)).toHaveLength(count);
  });

  it("parses the RELEASES file of a package into one release with its status", () => {
    const text = String(packageEntries({ version: "4.4.16" }).find((e) => e.name === "emqx/releases/RELEASES")?.data);
    const [releases] = parseErlangTerms(text);
    const [tag, name, vsn, erts, , status] = asTuple(asList(releases)?.[0], 6) ?? [];
    expect([asAtom(tag), asString(name), asString(vsn), asString(erts), asAtom(status)]).toEqual([
      "release",
      "emqx",
      "4.4.16",
      "12.3.2.2",
      "permanent",
    ]);
  });

  it("fails on a sentence without its dot", () => {
    expect(() => parseErlangTerms("{a,1}.\n{b,2}")).toThrow(/expected `\.`/);
  });
});

describe("hostile input", () => {
  const quick = (text: string): void => {
    const started = Date.now();
    const e = thrown(() => parseErlangTerm(text));
    expect(ErlangTermSyntaxError.isInstance(e)).toBe(true);
    expect(Date.now() - started).toBeLessThan(2000);
  };

  it("fails on nesting one level past the limit, and parses at the limit", () => {
    expect(() => parseErlangTerm("[".repeat(MAX_TERM_DEPTH) + "]".repeat(MAX_TERM_DEPTH))).not.toThrow();
    quick("[".repeat(MAX_TERM_DEPTH + 1) + "]".repeat(MAX_TERM_DEPTH + 1));
  });

  // [description, text]
  const cases: Array<[string, string]> = [
    ["1 MB of [", "[".repeat(1 << 20)],
    ["1 MB of {", "{".repeat(1 << 20)],
    ["1 MB of <<", "<<".repeat(1 << 19)],
    ["1 MB of #{", "#{".repeat(1 << 19)],
    ["an unterminated 1 MB string", '"' + "a".repeat(1 << 20)],
    ["1 MB of backslashes in a string", '"' + "\\".repeat(1 << 20)],
    ["1 MB of digits then a letter", "1".repeat(1 << 20) + "x"],
    ["1 MB of comma-separated atoms without a close", "[" + "a,".repeat(1 << 19)],
    ["1 MB of adjacent strings without a close", '"a" '.repeat(1 << 18) + "{"],
    ["1 MB of underscores in a number", "1" + "_".repeat(1 << 20)],
    ["text over 10 MB", " ".repeat(10 * 1024 * 1024 + 1)],
  ];
  it.each(cases)("fails quickly on %s", (_name, text) => quick(text));

  it("fails quickly (or parses) 200 random byte strings, never hangs", () => {
    let seed = 42;
    const next = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    const started = Date.now();
    for (let i = 0; i < 200; i++) {
      const text = Buffer.from(Array.from({ length: 1 + (next() % 4096) }, () => next() & 0xff)).toString("latin1");
      try {
        parseErlangTerm(text);
      } catch (e) {
        expect(ErlangTermSyntaxError.isInstance(e)).toBe(true);
      }
    }
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe("accessors", () => {
  // [description, accessor result, expected]
  const cases: Array<[string, unknown, unknown]> = [
    ["asString of a literal", asString(str("x")), "x"],
    ["asString of [] is empty", asString(list()), ""],
    ["asString of a char list", asString(list(int(52), int(46))), "4."],
    ["asString of an atom is undefined", asString(atom("x")), undefined],
    ["asString of a list of atoms is undefined", asString(list(atom("x"))), undefined],
    ["asAtom", asAtom(atom("permanent")), "permanent"],
    ["asAtom of a string is undefined", asAtom(str("permanent")), undefined],
    ["asInt", asInt(int(3)), 3],
    ["asList of a string gives char codes", asList(str("ab"))?.map(asInt), [97, 98]],
    ["asList of a tuple is undefined", asList(tuple()), undefined],
    ["asTuple with the right arity", asTuple(tuple(atom("a")), 1)?.length, 1],
    ["asTuple with the wrong arity", asTuple(tuple(atom("a")), 2), undefined],
    ["asTuple of undefined", asTuple(undefined), undefined],
    ["tupleTag", tupleTag(parseErlangTerm('{release,"emqx"}')), "release"],
    ["tupleTag of a list", tupleTag(list(atom("a"))), undefined],
    ["mapGet", asInt(mapGet(parseErlangTerm("#{a => 1, b => 2}"), "b")), 2],
    ["mapGet of a missing key", mapGet(parseErlangTerm("#{a => 1}"), "z"), undefined],
  ];
  it.each(cases)("%s", (_name, actual, expected) => {
    expect(actual).toEqual(expected);
  });
});

describe("formatErlangTerm", () => {
  // [text, formatted]
  const cases: Array<[string, string]> = [
    ["{ \"4.4.16\" , [ a , 'b@c.d' ] }", "{\"4.4.16\",[a,'b@c.d']}"],
    ['"say \\"hi\\"\\n"', '"say \\"hi\\"\\n"'],
    ["'Upper'", "'Upper'"],
    ['#{a => <<"x">>}', '#{a => <<"x">>}'],
    ["[1.0, -3, 2.5]", "[1.0,-3,2.5]"],
    ["<0.1.0>", "<0.1.0>"],
  ];
  it.each(cases)("formats %s", (text, formatted) => {
    expect(formatErlangTerm(parseErlangTerm(text))).toBe(formatted);
    expect(parseErlangTerm(formatted)).toEqual(parseErlangTerm(text));
  });
});
