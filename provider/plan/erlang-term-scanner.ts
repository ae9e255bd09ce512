// The lexical half of the Erlang term parser (see erlang-term.ts): the scanner state, its limits
// and error, whitespace and comments, and the literals (strings, quoted atoms, chars, numbers).
// Scans char codes one by one, never with a regex, so hostile input costs linear time at most.
import type { ErlangTerm } from "./erlang-term";

/** @internal Input longer than this (characters) is refused: no real relup, rel or CLI output comes close. */
export const MAX_TERM_TEXT_CHARS = 10 * 1024 * 1024;
/** @internal Deeper nesting than this is refused, so recursion cannot exhaust the stack. */
export const MAX_TERM_DEPTH = 200;

/** The text is not a well-formed Erlang term (or is over a limit). */
export class ErlangTermSyntaxError extends Error {
  /** Offset (in characters) into the parsed text where the problem was found. */
  readonly offset: number;
  /** Up to ~60 characters around the offset, on one line. */
  readonly excerpt: string;
  readonly reason: string;
  constructor(f: { offset: number; excerpt: string; reason: string; line: number; column: number }) {
    const message = `invalid Erlang term at line ${f.line}, column ${f.column}: ${f.reason}; near: ${f.excerpt}`;
    super(message);
    // Set by hand: once Pulumi serializes the provider, super() no longer sets it (see errors.ts).
    this.message = message;
    this.name = "ErlangTermSyntaxError";
    this.offset = f.offset;
    this.excerpt = f.excerpt;
    this.reason = f.reason;
  }
  /** Duck-typed, not `instanceof`: a second copy of this module, or serialized code in a realm of
   * its own, fails `instanceof`. */
  static isInstance(e: unknown): e is ErlangTermSyntaxError {
    return (
      typeof e === "object" &&
      e !== null &&
      (e as { name?: unknown }).name === "ErlangTermSyntaxError" &&
      typeof (e as { offset?: unknown }).offset === "number"
    );
  }
}

/** @internal Parser state: the text, the read position and the current nesting depth. */
export interface Scanner {
  text: string;
  pos: number;
  depth: number;
}

/** @internal A scanner at the start of `text`, after checking the size limit and skipping a BOM. */
export function openScanner(text: string): Scanner {
  if (typeof text !== "string") throw new TypeError("parseErlangTerm: text must be a string");
  const s: Scanner = { text, pos: 0, depth: 0 };
  if (text.length > MAX_TERM_TEXT_CHARS)
    fail(s, `input is ${text.length} characters, over the ${MAX_TERM_TEXT_CHARS} limit`);
  if (text.charCodeAt(0) === 0xfeff) s.pos = 1;
  return s;
}

/** @internal Throws the syntax error for position `at`, with line, column and an excerpt. */
export function fail(s: Scanner, reason: string, at = s.pos): never {
  const from = Math.max(0, at - 30);
  let shown = "";
  for (const ch of s.text.slice(from, at + 30)) shown += ch < " " || ch === "\u007f" ? " " : ch;
  const excerpt = `${from > 0 ? "…" : ""}${shown.slice(0, at - from)}⟨here⟩${shown.slice(at - from)}${at + 30 < s.text.length ? "…" : ""}`;
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < at && i < s.text.length; i++) if (s.text.charCodeAt(i) === 10) (line++, (lineStart = i + 1));
  throw new ErlangTermSyntaxError({ offset: at, excerpt, reason, line, column: at - lineStart + 1 });
}

/** @internal Skips whitespace (every char code <= 32, and NBSP as Erlang does) and `%` comments. */
export function skipSpace(s: Scanner): void {
  const t = s.text;
  while (s.pos < t.length) {
    const c = t.charCodeAt(s.pos);
    if (c <= 32 || c === 0xa0) s.pos++;
    else if (c === 37 /* % */) while (s.pos < t.length && t.charCodeAt(s.pos) !== 10) s.pos++;
    else return;
  }
}

/** @internal A full stop ends a sentence only when followed by whitespace, `%` or the end of the text. */
export function isEndDot(s: Scanner): boolean {
  if (s.text.charCodeAt(s.pos) !== 46) return false;
  const next = s.text.charCodeAt(s.pos + 1);
  return Number.isNaN(next) || next <= 32 || next === 37;
}

/** @internal The next character, quoted, or "end of input", for messages. */
export function describe(s: Scanner): string {
  return s.pos >= s.text.length ? "end of input" : JSON.stringify(s.text[s.pos]);
}

/** @internal Skips space, then consumes `ch` or throws. */
export function expect(s: Scanner, ch: string): void {
  skipSpace(s);
  if (s.text[s.pos] !== ch) fail(s, `expected ${JSON.stringify(ch)}, found ${describe(s)}`);
  s.pos++;
}

/** @internal `"ab" "cd"` is one string "abcd" (the Erlang reader joins adjacent literals; `~p` splits long ones). */
export function parseAdjacentStrings(s: Scanner): string {
  let value = parseQuoted(s, '"');
  for (;;) {
    const save = s.pos;
    skipSpace(s);
    if (s.text[s.pos] !== '"') {
      s.pos = save;
      return value;
    }
    value += parseQuoted(s, '"');
  }
}

/** @internal A `"..."` or `'...'` literal with Erlang escapes; `s.pos` is at the opening quote. */
export function parseQuoted(s: Scanner, quote: string): string {
  const start = s.pos;
  s.pos++;
  let out = "";
  const t = s.text;
  for (;;) {
    if (s.pos >= t.length) fail(s, `unterminated ${quote === '"' ? "string" : "quoted atom"}`, start);
    const ch = t[s.pos];
    if (ch === quote) {
      s.pos++;
      return out;
    }
    if (ch === "\\") out += String.fromCodePoint(parseEscape(s));
    else {
      out += ch;
      s.pos++;
    }
  }
}

/** An escape sequence at `s.pos` (the backslash); returns the code point. */
function parseEscape(s: Scanner): number {
  const t = s.text;
  const at = s.pos;
  const ch = t[++s.pos];
  s.pos++;
  const simple: Record<string, number> = { n: 10, t: 9, r: 13, b: 8, f: 12, e: 27, s: 32, v: 11, d: 127 };
  if (ch === undefined) return fail(s, "unterminated escape sequence", at);
  if (ch in simple) return simple[ch];
  if (ch >= "0" && ch <= "7") {
    let n = Number(ch);
    for (let i = 0; i < 2 && t[s.pos] >= "0" && t[s.pos] <= "7"; i++) n = n * 8 + Number(t[s.pos++]);
    return n;
  }
  if (ch === "x") {
    const braced = t[s.pos] === "{";
    if (braced) s.pos++;
    const digitsStart = s.pos;
    while (s.pos - digitsStart < (braced ? 6 : 2) && isHex(t.charCodeAt(s.pos))) s.pos++;
    const hex = t.slice(digitsStart, s.pos);
    if (hex.length === 0 || (!braced && hex.length !== 2)) fail(s, "malformed \\x escape", at);
    if (braced && t[s.pos++] !== "}") fail(s, "malformed \\x{...} escape", at);
    const n = parseInt(hex, 16);
    if (n > 0x10ffff) fail(s, "\\x{...} escape beyond Unicode", at);
    return n;
  }
  if (ch === "^") {
    const c = t.charCodeAt(s.pos++);
    if (Number.isNaN(c)) fail(s, "unterminated \\^ escape", at);
    return c & 31;
  }
  return ch.codePointAt(0) ?? 0; // \\ \" \' and any other char stand for themselves
}

/** @internal `$a`, `$\n`: a character literal, which is an integer. */
export function parseChar(s: Scanner): ErlangTerm {
  const start = s.pos;
  s.pos++;
  if (s.pos >= s.text.length) fail(s, "unterminated character literal", start);
  let code: number;
  if (s.text[s.pos] === "\\") code = parseEscape(s);
  else {
    code = s.text.codePointAt(s.pos) ?? 0;
    s.pos += code > 0xffff ? 2 : 1;
  }
  return { type: "int", value: code, text: s.text.slice(start, s.pos) };
}

/** @internal `42`, `-7`, `1_000`, `16#ff`, `1.5`, `2.0e-3`. A `.` not followed by a digit ends the sentence. */
export function parseNumber(s: Scanner): ErlangTerm {
  const t = s.text;
  const start = s.pos;
  if (t[s.pos] === "-" || t[s.pos] === "+") s.pos++;
  const digits = (accept: (c: number) => boolean): string => {
    const from = s.pos;
    while (
      s.pos < t.length &&
      (accept(t.charCodeAt(s.pos)) || (t[s.pos] === "_" && s.pos > from && accept(t.charCodeAt(s.pos + 1))))
    )
      s.pos++;
    return t.slice(from, s.pos).split("_").join("");
  };
  const intPart = digits(isDigit);
  const sign = t[start] === "-" ? -1 : 1;
  if (t[s.pos] === "#") {
    const base = Number(intPart);
    if (base < 2 || base > 36) fail(s, `radix ${intPart} is not between 2 and 36`, start);
    s.pos++;
    const body = digits((c) => digitValue(c) < base);
    if (body === "") fail(s, `expected base-${base} digits`);
    return { type: "int", value: sign * parseInt(body, base), text: t.slice(start, s.pos) };
  }
  if (t[s.pos] === "." && isDigit(t.charCodeAt(s.pos + 1))) {
    s.pos++;
    const frac = digits(isDigit);
    let exp = "";
    if (
      (t[s.pos] === "e" || t[s.pos] === "E") &&
      (isDigit(t.charCodeAt(s.pos + 1)) ||
        ((t[s.pos + 1] === "-" || t[s.pos + 1] === "+") && isDigit(t.charCodeAt(s.pos + 2))))
    ) {
      s.pos++;
      const expSign = t[s.pos] === "-" || t[s.pos] === "+" ? t[s.pos++] : "";
      exp = `e${expSign}${digits(isDigit)}`;
    }
    return { type: "float", value: sign * Number(`${intPart}.${frac}${exp}`) };
  }
  if (isAtomChar(t.charCodeAt(s.pos))) fail(s, `malformed number ${JSON.stringify(t.slice(start, s.pos + 1))}`);
  return { type: "int", value: sign * Number(intPart), text: t.slice(start, s.pos) };
}

/** @internal 0-9 */
export function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isHex(c: number): boolean {
  return digitValue(c) < 16;
}
function digitValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 122) return c - 87;
  if (c >= 65 && c <= 90) return c - 55;
  return 99;
}
/** @internal Bare atoms start with a lowercase letter (Latin-1 included, as Erlang allows). */
export function isAtomStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 0xdf && c <= 0xff && c !== 0xf7);
}
/** @internal A character that may continue a bare atom: letters, digits, `_`, `@`. */
export function isAtomChar(c: number): boolean {
  return (
    isAtomStart(c) ||
    isDigit(c) ||
    (c >= 65 && c <= 90) ||
    c === 95 ||
    c === 64 ||
    (c >= 0xc0 && c <= 0xde && c !== 0xd7)
  );
}
