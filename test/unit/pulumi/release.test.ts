// EmqxRelease in a program, with the engine replaced by pulumi.runtime.setMocks: the resource token,
// the registered inputs (credentials as secrets, the program-side package digest, the serialized
// provider) and the outputs.
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { EmqxRelease } from "../../../provider/pulumi/release";
import { mockEngine, valueOf, type MockedEngine } from "../../support/pulumi-mocks";

/** The marker Pulumi puts on a serialized secret: `{ [SECRET_SIG]: SECRET_VALUE, value }`. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

let engine: MockedEngine;
let registered: MockedEngine["registered"];
let pkg: string;

beforeAll(async () => {
  engine = await mockEngine(() => ({ currentVersion: "4.4.16", lastAction: "upgrade" }));
  registered = engine.registered;
  pkg = engine.packagePath;
});
afterAll(() => engine.cleanup());

/** Registers a resource and waits for the mocks to have seen it. */
async function register(name: string, args: ConstructorParameters<typeof EmqxRelease>[1]) {
  const r = new EmqxRelease(name, args);
  await valueOf(r.urn);
  return { resource: r, inputs: registered.find((x) => x.name === name)!.inputs as Record<string, unknown> };
}

/** Every path at which `needle` appears in `value`, and whether that place is inside a secret. */
function placesOf(value: unknown, needle: string, at = "", inSecret = false): { at: string; secret: boolean }[] {
  if (value === needle) return [{ at, secret: inSecret }];
  if (!value || typeof value !== "object") return [];
  const o = value as Record<string, unknown>;
  const secret = inSecret || o[SECRET_SIG] === SECRET_VALUE;
  return Object.entries(o).flatMap(([k, v]) => placesOf(v, needle, `${at}.${k}`, secret));
}

test("registers as pulumi-nodejs:dynamic/emqx:EmqxRelease with the provider serialized into its inputs", async () => {
  const { inputs } = await register("token", {
    connection: { host: "10.0.0.7", password: "pw-token" },
    version: "4.4.16",
    packagePath: pkg,
  });
  expect(registered.find((x) => x.name === "token")!.type).toBe("pulumi-nodejs:dynamic/emqx:EmqxRelease");
  expect(inputs.__provider).toMatch(/^exports\.handler = /);
  expect(inputs).toMatchObject({ version: "4.4.16", packagePath: pkg });
});

test("hashes the package in the program and passes the digest to check", async () => {
  const { inputs } = await register("digest", {
    connection: { host: "10.0.0.7", password: "pw-digest" },
    version: "4.4.16",
    packagePath: pulumi.output(pkg),
  });
  expect(inputs.__packageDigest).toBe(createHash("sha256").update("package bytes").digest("hex"));
});

test("sends every credential, of the node and of the bastion, only as a secret", async () => {
  const { inputs } = await register("secrets", {
    connection: {
      host: "10.0.0.7",
      privateKey: "KEY-node",
      privateKeyPassword: "PASS-node",
      proxy: { host: "bastion", password: "PW-bastion" },
    },
    version: "4.4.16",
    packagePath: pkg,
  });
  for (const secret of ["KEY-node", "PASS-node", "PW-bastion"]) {
    const places = placesOf(inputs, secret);
    expect(places.length).toBeGreaterThan(0);
    expect(places.filter((p) => !p.secret)).toEqual([]);
  }
  expect(placesOf(inputs, "10.0.0.7")).toHaveLength(1);
});

test("keeps a connection given as an output secret as a whole", async () => {
  const { inputs } = await register("output-conn", {
    connection: pulumi.output({ host: "10.0.0.7", password: "PW-output" }),
    version: "4.4.16",
    packagePath: pkg,
  });
  expect(placesOf(inputs, "PW-output")).toEqual([{ at: ".connection.value.password", secret: true }]);
});

test("marks the connection output secret and exposes the provider's outputs", async () => {
  const { resource } = await register("outputs", {
    connection: { host: "10.0.0.7", password: "pw-outputs" },
    version: "4.4.16",
    packagePath: pkg,
  });
  expect(await pulumi.isSecret((resource as unknown as { connection: pulumi.Output<unknown> }).connection)).toBe(true);
  expect(await valueOf(resource.currentVersion)).toBe("4.4.16");
  expect(await valueOf(resource.lastAction)).toBe("upgrade");
  expect(await valueOf(resource.version)).toBe("4.4.16");
});

test("with packageUrl: packageHeaders only as a secret, no program-side digest (the runner hashes nothing)", async () => {
  const { inputs } = await register("url", {
    connection: { host: "10.0.0.7", password: "pw-url" },
    version: "4.4.16",
    packageUrl: "https://packages.example/emqx-4.4.16-otp24.3.4.2-1-ubuntu20.04-amd64.zip",
    packageSha256: "a".repeat(64),
    packageHeaders: { Authorization: "Bearer TOKEN-url" },
  });
  const places = placesOf(inputs, "Bearer TOKEN-url");
  expect(places.length).toBeGreaterThan(0);
  expect(places.filter((p) => !p.secret)).toEqual([]);
  expect(inputs.__packageDigest).toBeUndefined();
  expect(inputs).toMatchObject({ packageUrl: expect.stringMatching(/^https:/), packageSha256: "a".repeat(64) });
});

test("a packageUrl with a query string (a presigned URL) is sent only as a secret, given as a string or an output; a plain one stays readable", async () => {
  const base = "https://bucket.example/emqx-4.4.16-otp24.3.4.2-1-ubuntu20.04-amd64.zip";
  const args = (name: string, packageUrl: pulumi.Input<string>) =>
    register(name, {
      connection: { host: "10.0.0.7", password: `pw-${name}` },
      version: "4.4.16",
      packageUrl,
      packageSha256: "a".repeat(64),
    });
  for (const [name, url] of [
    ["signed-string", `${base}?X-Amz-Signature=SIG-string`],
    ["signed-output", pulumi.output(`${base}?X-Amz-Signature=SIG-output`)],
  ] as const) {
    const { inputs } = await args(name, url);
    const sig = `SIG-${name.split("-")[1]}`;
    const places = placesOf(inputs, `${base}?X-Amz-Signature=${sig}`);
    expect([name, places]).toEqual([name, [{ at: ".packageUrl.value", secret: true }]]);
  }
  const plain = await args("plain", base);
  expect(placesOf(plain.inputs, base)).toEqual([{ at: ".packageUrl", secret: false }]);
});
