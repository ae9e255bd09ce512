// Faults of a package server while the node downloads packageUrl: each a clear error naming what
// to do, with nothing under the package's name (no emqx-*4.4.16*.zip, no .part), no EMQX command
// run, and the Authorization header in no error, log or output. A real HTTP server on loopback
// (sandbox/package-server.ts) and real sshd hosts with the emulator; curl on the node.
import { execFileSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EmqxReleaseProvider } from "../../../provider";
import { PackageServer, Route, selfSignedCert, startPackageServer } from "../../../sandbox/package-server";
import { packageShelf, startTestHost, TestHost } from "../../../sandbox/test-host";
import { expectIntactInstall, expectNoLeaks, mutatingCalls, partFiles, underFault } from "../../support/fault-run";
import { reliabilityTest } from "../../support/reliability";

jest.setTimeout(120_000);
const ADDRESS = "127.0.0.174";
const FROM = "4.4.0";
const TO = "4.4.16";
const TOKEN = `Bearer ${createHash("sha256").update(`faults-download-${process.pid}`).digest("hex")}`;
const provider = new EmqxReleaseProvider();
const shelf = packageShelf();
let server: PackageServer;
let pkg: string;
let sha: string;
let name: string;
let host: TestHost;

beforeAll(async () => {
  pkg = await shelf.build({ version: TO, extraBytes: 4 * 1024 * 1024 });
  sha = createHash("sha256").update(fs.readFileSync(pkg)).digest("hex");
  name = path.basename(pkg);
  server = await startPackageServer(ADDRESS);
  server.route(`/ok/${name}`, { file: pkg });
  host = await startTestHost({ version: FROM }, ADDRESS);
});
afterAll(async () => {
  await host?.stop();
  await server?.stop();
});

/** Checks inputs against the good route (check reads ranges there), then points the node at `route`. */
async function inputsFor(h: TestHost, route: Route | undefined, over: Record<string, unknown> = {}) {
  const news = {
    connection: h.connection,
    version: TO,
    packageUrl: server.url(`/ok/${name}`),
    packageSha256: sha,
    packageHeaders: { Authorization: TOKEN },
    emqxPath: h.emqxPath,
    commandTimeoutMs: 3000,
    ...over,
  };
  const r = await provider.check({}, news);
  expect(r.failures).toEqual([]);
  if (route === undefined) return r.inputs;
  const faulty = `/fault-${Math.random().toString(16).slice(2)}/${name}`;
  server.route(faulty, route);
  return { ...r.inputs, packageUrl: server.url(faulty) };
}

/** The row's common checks: the error, nothing under the package's name, no EMQX command, no leak. */
async function expectCleanFailure(
  probe: Parameters<Parameters<typeof reliabilityTest>[1]>[0],
  h: TestHost,
  inputs: Record<string, unknown>,
  message: RegExp,
) {
  const r = await underFault(() => provider.create(inputs));
  expect(r.error?.message).toMatch(message);
  expect(r.error?.message).toMatch(/nothing was left under the package's name/);
  expect(fs.readdirSync(path.join(h.root, "releases")).filter((f) => f.endsWith(".zip"))).toEqual([]);
  expect(partFiles(h.root)).toEqual([]);
  expect(mutatingCalls(h)).toEqual([]);
  expectIntactInstall(probe, h, { version: TO });
  expectNoLeaks(probe, r, inputs, [{ source: "sshd log", text: h.sshd.readLog() }]);
  return r;
}

reliabilityTest(
  {
    area: "fault",
    case: "packageUrl: the server answers 404",
    expected: "error: the server answered 404, check packageUrl; nothing under the package's name; no EMQX command",
  },
  async (probe) => {
    await expectCleanFailure(
      probe,
      host,
      await inputsFor(host, { status: 404 }),
      /the server answered 404: there is no file at that URL; check packageUrl/,
    );
  },
);

reliabilityTest(
  {
    area: "fault",
    case: "packageUrl: the server is down",
    expected: "error: the node cannot connect to the server; nothing under the package's name; no EMQX command",
  },
  async (probe) => {
    const inputs = { ...(await inputsFor(host, undefined)), packageUrl: `http://${ADDRESS}:1/down/${name}` };
    await expectCleanFailure(probe, host, inputs, /the node cannot connect to 127\.0\.0\.174:1: is the server up/);
  },
);

reliabilityTest(
  {
    area: "fault",
    case: "packageUrl: a redirect loop",
    expected: "error after 5 redirects naming a redirect loop; nothing under the package's name",
  },
  async (probe) => {
    const loop = `/loop/${name}`;
    server.route(loop, { redirect: loop });
    const inputs = { ...(await inputsFor(host, undefined)), packageUrl: server.url(loop) };
    await expectCleanFailure(probe, host, inputs, /more than 5 redirects \(a redirect loop\?\)/);
  },
);

reliabilityTest(
  {
    area: "fault",
    case: "packageUrl: the download is cut half-way",
    expected: "error: the connection was cut before the whole file arrived; nothing under the package's name",
  },
  async (probe) => {
    const inputs = await inputsFor(host, { file: pkg, cutAfterBytes: Math.round(fs.statSync(pkg).size / 2) });
    await expectCleanFailure(probe, host, inputs, /the connection was cut before the whole file arrived/);
  },
);

reliabilityTest(
  {
    area: "fault",
    case: "packageUrl: the server stalls past commandTimeoutMs",
    expected: "error within seconds: no data for commandTimeoutMs; nothing under the package's name",
  },
  async (probe) => {
    const inputs = await inputsFor(host, { file: pkg, stallAfterBytes: 100_000 });
    const started = Date.now();
    await expectCleanFailure(probe, host, inputs, /no data arrived for 3 s \(commandTimeoutMs\)/);
    expect(Date.now() - started).toBeLessThan(30_000);
  },
);

reliabilityTest(
  {
    area: "fault",
    case: "packageUrl: the server holds another file than the pinned sha256",
    expected: "error names both sha256s; the download is removed; no EMQX command",
  },
  async (probe) => {
    const other = await shelf.build({ version: TO, extraBytes: 1024 });
    const inputs = await inputsFor(host, { file: other });
    const r = await underFault(() => provider.create(inputs));
    expect(r.error?.message).toMatch(new RegExp(`has sha256 [0-9a-f]{64}, not the pinned ${sha}; it was removed`));
    expect(fs.readdirSync(path.join(host.root, "releases")).filter((f) => f.endsWith(".zip"))).toEqual([]);
    expect(partFiles(host.root)).toEqual([]);
    expect(mutatingCalls(host)).toEqual([]);
    expectIntactInstall(probe, host, { version: TO });
    expectNoLeaks(probe, r, inputs);
  },
);

reliabilityTest(
  {
    area: "fault",
    case: "packageUrl: the server's TLS certificate is not trusted (self-signed)",
    expected:
      "check refuses packageUrl naming TLS; the node's download fails naming TLS and the trust store; certificate checks never turned off; nothing under the package's name",
  },
  async (probe) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "emqx-tls-"));
    const { key, cert } = selfSignedCert(ADDRESS, dir);
    const tlsServer = await startPackageServer(ADDRESS, { key, cert });
    try {
      tlsServer.route(`/ok/${name}`, { file: pkg });
      const url = tlsServer.url(`/ok/${name}`);
      const refused = await provider.check(
        {},
        { ...(await inputsFor(host, undefined)), __package: undefined, packageUrl: url },
      );
      expect(refused.failures).toEqual([
        {
          property: "packageUrl",
          reason: expect.stringMatching(/TLS: 127\.0\.0\.174:\d+'s certificate is not trusted/),
        },
      ]);
      const inputs = { ...(await inputsFor(host, undefined)), packageUrl: url };
      await expectCleanFailure(probe, host, inputs, /TLS: the node does not trust 127\.0\.0\.174:\d+'s certificate/);
      expect(tlsServer.log.filter((l) => l.status === 200)).toEqual([]);
    } finally {
      await tlsServer.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);

reliabilityTest(
  {
    area: "fault",
    case: "packageUrl: the node's disk fills up during the download (EMQX root on a tmpfs)",
    expected:
      "error: could not write the file, check df; nothing under the package's name; once space is freed the rerun upgrades",
  },
  async (probe) => {
    const small = await startTestHost({ version: FROM }, ADDRESS, { rootFsMiB: 48 });
    try {
      // The server sends half the file, then the disk fills up, then it sends the rest.
      const size = fs.statSync(pkg).size;
      const filler = path.join(small.root, "filler");
      const fillUp = async () => {
        try {
          execFileSync("dd", ["if=/dev/zero", `of=${filler}`, "bs=1M"], { stdio: "pipe" });
        } catch {
          // "No space left on device": the point
        }
      };
      const inputs = await inputsFor(small, { file: pkg, stallAfterBytes: Math.round(size / 2), resumeWhen: fillUp });
      await expectCleanFailure(probe, small, inputs, /could not write the file into \S+ \(disk full\? check `df -h/);
      fs.rmSync(filler, { force: true });
      const again = await underFault(async () => provider.create(await inputsFor(small, undefined)));
      expect(again.error).toBeUndefined();
    } finally {
      await small.stop();
    }
  },
);
