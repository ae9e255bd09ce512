// What a reliability row searches for (test/support/secret-scan.ts): slices of the private key it
// connects with and every other credential its inputs carry, so a leak of any of them is found.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { carriedSecrets, keySlices, scanForSecrets } from "../../support/secret-scan";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "secret-scan-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function key(type: string, name = type): string {
  const file = path.join(dir, name);
  // 2048-bit RSA: the smallest keys ssh-keygen's defaults allow, fast to make.
  execFileSync(
    "ssh-keygen",
    ["-q", "-t", type, ...(type === "rsa" ? ["-b", "2048"] : []), "-N", "", "-C", "", "-f", file],
    { stdio: "pipe" },
  );
  return fs.readFileSync(file, "utf8");
}

describe("keySlices", () => {
  test.each(["ed25519", "ecdsa", "rsa"])(
    "gives six distinct slices of a %s key's body, none in another key of its type",
    (type) => {
      const pem = key(type);
      const others = [1, 2, 3].map((n) => key(type, `${type}-other-${n}`)).join("\n");
      const slices = keySlices(pem);
      expect(new Set(slices).size).toBe(6);
      for (const s of slices) {
        expect(pem).toContain(s);
        expect(others).not.toContain(s);
      }
      // Some span a line break (they differ once JSON-escaped), at least half lie inside one line
      // (found however the lines were re-wrapped).
      expect(slices.filter((s) => s.includes("\n")).length).toBeGreaterThanOrEqual(1);
      expect(slices.filter((s) => /^[A-Za-z0-9+/=]{20}$/.test(s)).length).toBeGreaterThanOrEqual(3);
    },
  );

  test("finds a key that was re-joined on one line, or JSON-escaped", () => {
    const pem = key("ed25519", "joined");
    const { needles } = carriedSecrets({ connection: { privateKey: pem } });
    const body = pem
      .split("\n")
      .filter((l) => l && !l.startsWith("-----"))
      .join("");
    expect(scanForSecrets([{ source: "one line", text: `key=${body}` }], needles).length).toBeGreaterThanOrEqual(3);
    expect(scanForSecrets([{ source: "json", text: JSON.stringify({ pem }) }], needles).length).toBe(6);
  });
});

describe("carriedSecrets", () => {
  test("names each credential of the connection and its bastion once, whatever its shape", () => {
    const pem = key("ed25519", "carried");
    const inputs = {
      version: "4.4.16",
      connection: {
        host: "10.0.0.7",
        privateKey: pem,
        privateKeyPassword: "pass-phrase-1",
        sudoPassword: "sudo-pw-2",
        password: { value: "login-pw-3" },
        proxy: { host: "bastion", privateKey: "/root/.ssh/bastion-key-4" },
      },
    };
    const { searched, needles } = carriedSecrets(inputs);
    expect(searched).toEqual([
      "private key",
      "key passphrase",
      "login password",
      "sudo password",
      "bastion private key",
    ]);
    for (const secret of ["pass-phrase-1", "sudo-pw-2", "login-pw-3", "/root/.ssh/bastion-key-4"]) {
      expect(scanForSecrets([{ source: "message", text: `... ${secret} ...` }], needles)).not.toEqual([]);
    }
    // Neither the host nor the version is a secret.
    expect(scanForSecrets([{ source: "message", text: "10.0.0.7 bastion 4.4.16" }], needles)).toEqual([]);
  });

  test("carries nothing when the inputs hold no credential (such a row measures no leak)", () => {
    expect(carriedSecrets({ connection: "10.0.0.7" })).toEqual({ searched: [], needles: [] });
    expect(carriedSecrets({ connection: { host: "h", user: "root" } })).toEqual({ searched: [], needles: [] });
    expect(carriedSecrets(undefined)).toEqual({ searched: [], needles: [] });
  });
});
