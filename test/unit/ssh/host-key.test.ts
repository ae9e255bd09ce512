import {
  fingerprintSha256,
  hostFieldMatches,
  knownHostsName,
  parseFingerprint,
  parseKnownHosts,
  parsePublicKeyLine,
  preferredHostKeyAlgorithms,
  verifyHostKey,
} from "../../../provider/ssh/host-key";
import { expectNotSuperlinear } from "../../support/linear-time";

// Fixture keys made with ssh-keygen; fingerprints as printed by `ssh-keygen -lf`.
const ED = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILf32zB7voW6UsA/PZDK/Wxt2dT/GAscg5p3hpWO2pb1 root@vm";
const ED_FP = "SHA256:fRBONzaSllgj8xBpQmCOetjUlR3vHoG5RGq6G9I5Edg";
const ED2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDB6C4u8j1q1Py9ebfx40JUSfSDPITtJRVv8QjWfrtVK root@vm";
const ED2_FP = "SHA256:TTrXNnKWjAObiL4gJ7sbKP0KKLxE8rOPNMwWm1/2Rlo";
const EC =
  "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBBeHi0rA7RMRV9Nb7BzI408q3f+2A0m50BNRi+kIcjdFGcuz/acK/xbtvHi8iAF1TOnxlflnWvBJocR3+4wiyxk= root@vm";
const EC_FP = "SHA256:2dfMAcDjNyzI0zdSTP3pCi63/lFTEMsl1St4QyI8a6w";
const RSA =
  "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC0zXNCFqbo1qm8X+Nb/U1OHkaIHyCZJS2ZmAKplJiO1Y4hLlDRgToYQUGrBc8+Ygg1jjiXoaBUE6TSnCHBqkdxkHbcmoFHGks+DSeZwEhTFfG1hxk1CWWQ+zEsaJkvOOfQlkt5vLiPvpuCcgUqRArxsr0kazzaWYyde4CYean1bpST7XHK0b3Tvbs1p3YZyxdejov40JzZN3PiMM4zorloOPMfNSnJORmee0b03g0n9bSrqGrWMqMQPsiZMAibY4iiu64ciFrlsLabh2VllMR4s6qsJrqJyYRy5PpkzjQqLYJJfXhWS+56mqCWiu1YQIDUBuLbl/ZA7sdntXFRsZ7r";
const RSA_FP = "SHA256:OF3rtC0SpFxFazkgBD8yTHDthfWSRbgyoYZQQXGwV1E";
// `ssh-keygen -H` of "[127.0.0.1]:2222 <ED>" and "example.com <RSA>".
const HASHED_ED_2222 = `|1|PwrK/SCqxa7amnhmoY5bR3v3ZVU=|yNItRPm3//aJvpKZM7OsN8D5/ns= ${ED.split(" ").slice(0, 2).join(" ")}`;
const HASHED_RSA_EXAMPLE = `|1|pYWDkuD0N+6qH4QFT7Qo53/SE4k=|OMKksO7xyr/CWoKuxQ5DQBpeiCk= ${RSA}`;

const blob = (line: string) => parsePublicKeyLine(line)!.blob;

describe("parsePublicKeyLine / fingerprintSha256", () => {
  // [key line, type, fingerprint, comment]
  it.each([
    [ED, "ssh-ed25519", ED_FP, "root@vm"],
    [EC, "ecdsa-sha2-nistp256", EC_FP, "root@vm"],
    [RSA, "ssh-rsa", RSA_FP, ""],
    [`  ${ED2}  with spaces  `, "ssh-ed25519", ED2_FP, "root@vm with spaces"],
  ])("parses %#: type %s", (line, type, fp, comment) => {
    const key = parsePublicKeyLine(line)!;
    expect(key.type).toBe(type);
    expect(key.comment).toBe(comment);
    expect(fingerprintSha256(key.blob)).toBe(fp);
  });

  // [line, why it is invalid]
  it.each([
    ["", "empty"],
    ["ssh-ed25519", "no blob"],
    ["ssh-ed25519 not*base64", "not base64"],
    [`ssh-rsa ${ED.split(" ")[1]}`, "type differs from the blob's own type"],
    ["ssh-ed25519 AAAA", "blob too short"],
    ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILf32zB7voW6UsA/PZDK/Wxt2dT/GAscg5p3hpWO2pb", "length not a multiple of 4"],
  ])("fails to parse %j (%s)", (line) => {
    expect(parsePublicKeyLine(line)).toBeUndefined();
  });
});

describe("parseFingerprint", () => {
  it.each([
    [ED_FP, ED_FP],
    [`${ED_FP}=`, ED_FP],
    [` ${ED_FP} `, ED_FP],
    ["SHA256:short", undefined],
    ["MD5:aa:bb", undefined],
    [ED_FP.replace("SHA256:", ""), undefined],
  ])("reads %j as %j", (input, expected) => {
    expect(parseFingerprint(input)).toBe(expected);
  });
});

describe("known_hosts host matching", () => {
  it.each([
    ["127.0.0.1", 22, "127.0.0.1"],
    ["Node1.Example.COM", 22, "node1.example.com"],
    ["127.0.0.1", 2222, "[127.0.0.1]:2222"],
  ])("looks %s port %d up as %s", (host, port, name) => {
    expect(knownHostsName(host, port)).toBe(name);
  });

  // [host field, name looked up, matches]
  it.each([
    ["node1,node2", "node2", true],
    ["NODE1", "node1", true],
    ["node1", "node10", false],
    ["[127.0.0.1]:2222", "[127.0.0.1]:2222", true],
    ["[127.0.0.1]:2222", "127.0.0.1", false],
    ["*.example.com", "a.example.com", true],
    ["*.example.com,!bad.example.com", "bad.example.com", false],
    ["10.0.0.?", "10.0.0.7", true],
    ["10.0.0.?", "10.0.0.17", false],
    [HASHED_ED_2222.split(" ")[0], "[127.0.0.1]:2222", true],
    [HASHED_ED_2222.split(" ")[0], "127.0.0.1", false],
    [HASHED_RSA_EXAMPLE.split(" ")[0], "example.com", true],
    ["|1|garbage", "example.com", false],
  ])("field %s vs %s -> %s", (field, name, expected) => {
    expect(hostFieldMatches(field, name)).toBe(expected);
  });

  it("stays fast on pathological wildcard patterns and long lines (regex/glob)", () => {
    const started = Date.now();
    expect(hostFieldMatches("*a".repeat(2000) + "b", "a".repeat(5000))).toBe(false);
    const junk = `${"x ".repeat(50_000)}\n${" \t".repeat(50_000)}\nssh-ed25519 ${"A".repeat(100_001)}\n`;
    expect(parseKnownHosts(junk)).toEqual([]);
    expect(parsePublicKeyLine(`ssh-ed25519 ${"A".repeat(200_001)}=`)).toBeUndefined();
    expectNotSuperlinear(started);
  });

  it("parses markers, skips comments and malformed lines", () => {
    const text = [
      "# comment",
      "",
      `@revoked * ${ED2}`,
      `@cert-authority *.example.com ${EC}`,
      `@bogus x ${ED}`,
      "half-line ssh-ed25519",
      `node1 ${ED}`,
    ].join("\n");
    expect(parseKnownHosts(text).map((e) => [e.line, e.marker, e.hosts])).toEqual([
      [3, "@revoked", "*"],
      [4, "@cert-authority", "*.example.com"],
      [7, "", "node1"],
    ]);
  });
});

describe("verifyHostKey", () => {
  const at = { host: "127.0.0.1", port: 2222 };
  // [case, presented key line, expectation, accepted, reason fragment]
  const rows: Array<[string, string, object, boolean, string]> = [
    ["nothing expected", ED, {}, true, "not verified"],
    ["hostKey line", ED, { hostKey: ED }, true, "matches hostKey"],
    ["hostKey line without comment", ED, { hostKey: ED.split(" ").slice(0, 2).join(" ") }, true, "matches hostKey"],
    ["hostKey fingerprint", ED, { hostKey: ED_FP }, true, "matches hostKey"],
    ["fails: other hostKey", ED, { hostKey: ED2 }, false, "does not match hostKey"],
    ["fails: other fingerprint", ED, { hostKey: ED2_FP }, false, "does not match hostKey"],
    ["fails: unreadable hostKey", ED, { hostKey: "AAAA" }, false, "neither an OpenSSH key line"],
    ["known_hosts plain", ED, { knownHosts: `[127.0.0.1]:2222 ${ED}` }, true, "matches knownHosts line 1"],
    ["known_hosts comma list", ED, { knownHosts: `other ${ED2}\nnode1,[127.0.0.1]:2222 ${ED}` }, true, "line 2"],
    ["known_hosts hashed", ED, { knownHosts: HASHED_ED_2222 }, true, "matches knownHosts line 1"],
    [
      "fails: known_hosts has the host with another key",
      ED,
      { knownHosts: `[127.0.0.1]:2222 ${ED2}` },
      false,
      "does not match the 1 knownHosts entry",
    ],
    [
      "fails: known_hosts lacks the host",
      ED,
      { knownHosts: `127.0.0.1 ${ED}` },
      false,
      "no entry for [127.0.0.1]:2222",
    ],
    [
      "fails: revoked",
      ED,
      { knownHosts: `[127.0.0.1]:2222 ${ED}\n@revoked * ${ED}` },
      false,
      "@revoked in knownHosts (line 2)",
    ],
    ["cert-authority ignored", ED, { knownHosts: `@cert-authority * ${ED}\n[127.0.0.1]:2222 ${ED}` }, true, "line 2"],
    ["fails: cert-authority alone is not enough", ED, { knownHosts: `@cert-authority * ${ED}` }, false, "no entry"],
    ["pinned", EC, { pinnedFingerprint: EC_FP }, true, "matches the pinned fingerprint"],
    ["fails: pinned differs", EC, { pinnedFingerprint: ED_FP }, false, "pinned on first contact"],
    [
      "fails: one of several sources refuses",
      ED,
      { hostKey: ED, pinnedFingerprint: ED2_FP },
      false,
      "matches hostKey; does not match the fingerprint",
    ],
  ];
  it.each(rows)("%s", (_, presented, expectation, accepted, fragment) => {
    const verdict = verifyHostKey(blob(presented), { ...at, ...expectation });
    expect(verdict.accepted).toBe(accepted);
    expect(verdict.reason).toContain(fragment);
    expect(verdict.fingerprint).toBe(fingerprintSha256(blob(presented)));
  });

  it("lists the expected fingerprints for the error message", () => {
    const verdict = verifyHostKey(blob(ED), {
      ...at,
      hostKey: ED2,
      knownHosts: `[127.0.0.1]:2222 ${EC}\n[127.0.0.1]:2222 ${ED2}`,
    });
    expect(verdict.expected).toEqual([ED2_FP, EC_FP]);
    expect(verdict.keyType).toBe("ssh-ed25519");
    expect(verdict.reason).toBe(
      "does not match hostKey; does not match the 2 knownHosts entries for [127.0.0.1]:2222 (lines 1, 2)",
    );
  });
});

describe("preferredHostKeyAlgorithms", () => {
  it.each([
    [{}, []],
    [{ hostKey: ED_FP }, []],
    [{ hostKey: RSA }, ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]],
    [{ knownHosts: `example.com ${EC}\n[127.0.0.1]:2222 ${ED}\n` }, ["ssh-ed25519"]],
    [{ hostKey: EC, knownHosts: HASHED_ED_2222 }, ["ecdsa-sha2-nistp256", "ssh-ed25519"]],
  ])("%j -> %j", (expectation, algorithms) => {
    expect(preferredHostKeyAlgorithms({ host: "127.0.0.1", port: 2222, ...expectation })).toEqual(algorithms);
  });
});
