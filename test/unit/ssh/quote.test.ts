import { execFileSync } from "child_process";
import * as fs from "fs";
import { quoteArg, quoteArgv } from "../../../provider/ssh/quote";
import { expectNotSuperlinear } from "../../support/linear-time";

describe("quoteArg", () => {
  // [input, expected shell word]
  const rows: Array<[string, string]> = [
    ["emqx", "emqx"],
    ["4.4.16", "4.4.16"],
    ["/opt/emqx/bin/emqx", "/opt/emqx/bin/emqx"],
    ["--force", "--force"],
    ["emqx@10.0.0.7", "emqx@10.0.0.7"],
    ["", "''"],
    ["a b", "'a b'"],
    ["it's", "'it'\\''s'"],
    ["'", "''\\'''"],
    ["A=b", "'A=b'"],
    ["~root", "'~root'"],
    ["emqx-*4.4.16*.zip", "'emqx-*4.4.16*.zip'"],
    ["$(reboot)", "'$(reboot)'"],
    ["`id`", "'`id`'"],
    ["a;b&c|d", "'a;b&c|d'"],
    ["line1\nline2", "'line1\nline2'"],
    ["!", "'!'"],
    ["if", "'if'"],
    ["done", "'done'"],
    ["ünïcödé", "'ünïcödé'"],
    ["back\\slash", "'back\\slash'"],
  ];
  it.each(rows)("quotes %j as %s", (input, expected) => {
    expect(quoteArg(input)).toBe(expected);
  });

  it("fails on a NUL byte, naming the problem", () => {
    expect(() => quoteArg("a\0b")).toThrow(/NUL byte/);
  });

  it("fails on a lone UTF-16 surrogate", () => {
    expect(() => quoteArg("x\uD800y")).toThrow(/not valid Unicode/);
    expect(quoteArg("\uD83D\uDE00")).toBe("'\uD83D\uDE00'");
  });

  it("stays linear on pathological input (regex)", () => {
    const long = "a".repeat(200_000) + "'";
    const started = Date.now();
    expect(quoteArg(long).length).toBe(long.length + 5);
    expect(() => quoteArg("\uD800" + "\uDC00".repeat(100_000) + "\uD800")).toThrow(/not valid Unicode/);
    expect(quoteArg("\uD83D\uDE00".repeat(100_000)).length).toBe(200_002);
    expectNotSuperlinear(started);
  });
});

describe("quoteArgv", () => {
  it("joins quoted words with single spaces", () => {
    expect(quoteArgv(["/opt/emqx/bin/emqx", "upgrade", "4.4.16"])).toBe("/opt/emqx/bin/emqx upgrade 4.4.16");
    expect(quoteArgv(["sh", "-c", 'echo "$1"', "sh", "a b"])).toBe(`sh -c 'echo "$1"' sh 'a b'`);
  });

  it("fails on an empty argv", () => {
    expect(() => quoteArgv([])).toThrow(/empty command/);
  });
});

/** mulberry32: a tiny seeded PRNG, so a failing case can be reproduced from the seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const METACHARS = ` \t\n'"\\$\`!*?[]{}()<>|&;#~=%^,.:-/@+`;

/** A random string mixing shell metacharacters, control and Latin-1 bytes, and any Unicode
 * scalar value (astral planes included, surrogates excluded). Never contains NUL. */
function randomString(rand: () => number): string {
  const length = Math.floor(rand() * 24);
  let s = "";
  for (let i = 0; i < length; i++) {
    const kind = rand();
    if (kind < 0.45) s += METACHARS[Math.floor(rand() * METACHARS.length)];
    else if (kind < 0.7) s += String.fromCharCode(1 + Math.floor(rand() * 255));
    else if (kind < 0.85) s += String.fromCharCode(0x61 + Math.floor(rand() * 26));
    else {
      let cp = 1 + Math.floor(rand() * 0x10ffff);
      if (cp >= 0xd800 && cp <= 0xdfff) cp = 0x2603;
      s += String.fromCodePoint(cp);
    }
  }
  return s;
}

/** Runs one script per shell on stdin: each line is `printf '%s\0' <quoted words...>`, so the
 * output is every input string NUL-terminated, exactly as the shell parsed them. */
function roundTrip(shell: string, inputs: string[]): string[] {
  const lines: string[] = [];
  for (let i = 0; i < inputs.length; i += 100) lines.push(quoteArgv(["printf", "%s\\0", ...inputs.slice(i, i + 100)]));
  const out = execFileSync(shell, [], { input: lines.join("\n") + "\n", maxBuffer: 64 * 1024 * 1024 });
  return out.toString("utf8").split("\0").slice(0, -1);
}

describe("quoteArgv round-trips through a real shell (property, seeded)", () => {
  const seed = 20240611;
  const inputs: string[] = [];
  const rand = prng(seed);
  for (let i = 0; i < 4000; i++) inputs.push(randomString(rand));
  inputs.push("", "'", "''", "\\'", "-n", "-e", "%s", "$HOME", "*");

  const shells = ["/bin/sh", "/bin/bash"].filter((s) => fs.existsSync(s));
  it.each(shells)(`every string comes back unchanged from %s (seed ${seed})`, (shell) => {
    const output = roundTrip(shell, inputs);
    expect(output.length).toBe(inputs.length);
    for (let i = 0; i < inputs.length; i++) {
      if (output[i] !== inputs[i])
        throw new Error(`case ${i}: ${JSON.stringify(inputs[i])} came back as ${JSON.stringify(output[i])}`);
    }
  });
});
