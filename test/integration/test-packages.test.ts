// The packages every test builds must hold files as EMQX's build writes them, or the provider is
// only ever tested against kinder files than real nodes have (issue #13: a relup without a final
// newline broke the host probe on every EMQX 4.4.2+ node while every test passed). Here the relups
// of sandbox/package-zip.ts are compared byte for byte with what a real erl prints for the
// same term with EMQX's own format call, `io_lib:format("~p.", [Term])`.
import { spawnSync } from "child_process";
import { injectsRelup, relupFileText } from "../../sandbox/package-zip";
import { parseRelup } from "../../provider/plan/relup";

/** What `io_lib:format(Format, [Term])` prints for the term `text` holds, through a real erl. */
function erlFormat(text: string, format: string): string {
  const script = `{ok, Toks, _} = erl_scan:string(${JSON.stringify(text)}), {ok, T} = erl_parse:parse_term(Toks), io:put_chars(io_lib:format(${JSON.stringify(format)}, [T])), halt().`;
  const r = spawnSync("erl", ["-noshell", "-eval", script], { encoding: "utf8" });
  if (r.error || r.status !== 0)
    throw new Error(`erl failed (install Debian's erlang-base; .ci/setup does): ${r.error?.message ?? r.stderr}`);
  return r.stdout;
}

// Row: [version, relup up-list keys, relup down-list keys]
const ROWS: [string, string[], string[]][] = [
  ["4.4.17", ["4.4.16"], ["4.4.16"]],
  ["4.4.18", ["4.4.17", "4.4.16"], ["4.4.17", "4.4.16"]],
  ["4.4.2", ["4.4.1", "4.4.0"], ["4.4.1", "4.4.0"]],
  ["4.4.16", ["4.4.15", "4.4.14", "4.4.13", "4.4.12", "4.4.11", "4.4.10"], ["4.4.15", "4.4.1", "4.4.0"]],
  ["4.4.1", ["4.4.0"], ["4.4.0"]],
];

test.each(ROWS)(
  "the relup of a %s package is byte for byte what EMQX's build writes",
  (version, relupFrom, relupDownTo) => {
    const text = relupFileText({ version, relupFrom, relupDownTo }) as string;
    const format = injectsRelup(version) ? "~p." : "~p.~n";
    expect(text).toBe(erlFormat(text, format));
    expect(parseRelup(text).downTo).toEqual(relupDownTo);
  },
);

test("from 4.4.2 on the relup ends with the dot and no newline; before, with a newline", () => {
  expect(relupFileText({ version: "4.4.2", relupFrom: ["4.4.1"] })?.endsWith("]}.")).toBe(true);
  expect(relupFileText({ version: "4.4.1", relupFrom: ["4.4.0"] })?.endsWith("]}.\n")).toBe(true);
});
