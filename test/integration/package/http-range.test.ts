// The runner's HTTP GET and range reader against a real HTTP server on loopback.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { createRangeReader, httpGet, parseContentRange, readBody } from "../../../provider/package/http-range";
import { PackageServer, startPackageServer } from "../../../sandbox/package-server";

const ADDRESS = "127.0.0.172";
let server: PackageServer;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "emqx-range-"));
const file = path.join(dir, "blob.zip");
const data = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));

beforeAll(async () => {
  fs.writeFileSync(file, data);
  server = await startPackageServer(ADDRESS);
  server.route("/blob.zip", { file });
  server.route("/loop", { redirect: "/loop" });
  server.route("/moved", { redirect: "/blob.zip" });
});
afterAll(async () => {
  await server.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => server.reset());

const opts = { headers: { Authorization: "Bearer t0ken" }, idleTimeoutMs: 5000 };

test("follows a redirect and sends the headers to the same origin", async () => {
  const { response, url } = await httpGet(server.url("/moved"), opts);
  expect(response.statusCode).toBe(200);
  expect(url).toBe(server.url("/blob.zip"));
  expect((await readBody(response, data.length, "x")).equals(data)).toBe(true);
  expect(server.log.map((l) => l.headers.authorization)).toEqual(["Bearer t0ken", "Bearer t0ken"]);
});

test("fails on a redirect loop after 5 redirects", async () => {
  await expect(httpGet(server.url("/loop"), opts)).rejects.toThrow(/more than 5 redirects \(a redirect loop\?\)/);
  expect(server.log).toHaveLength(6);
});

test("fails with connection refused when nothing listens, naming the host", async () => {
  await expect(httpGet(`http://${ADDRESS}:1/x.zip`, opts)).rejects.toThrow(
    /cannot connect to 127\.0\.0\.172:1 \(connection refused\)/,
  );
});

test("the range reader reads with read-ahead, keeps what it fetched and counts it", async () => {
  const { reader, stats } = createRangeReader(server.url("/blob.zip"), data.length, opts, {
    start: 290_000,
    data: data.subarray(290_000),
  });
  const read = (start: number, end: number) =>
    new Promise<Buffer>((resolve, reject) => {
      const b = Buffer.alloc(end - start);
      reader.read(b, 0, end - start, start, (e) => (e ? reject(e) : resolve(b)));
    });
  expect((await read(295_000, 296_000)).equals(data.subarray(295_000, 296_000))).toBe(true);
  expect(server.log).toEqual([]);
  expect((await read(1000, 1046)).equals(data.subarray(1000, 1046))).toBe(true);
  expect((await read(1046, 2000)).equals(data.subarray(1046, 2000))).toBe(true);
  expect(server.log.map((l) => l.range)).toEqual(["bytes=1000-66535"]);
  expect(stats).toEqual({ bytesFetched: 10_000 + 65_536, requests: 2 });
});

// Row: [Content-Range, parsed]
const RANGES: [string | undefined, object | undefined][] = [
  ["bytes 0-9/100", { first: 0, last: 9, total: 100 }],
  ["bytes 90-99/100", { first: 90, last: 99, total: 100 }],
  ["bytes 9-0/100", undefined],
  ["bytes 0-100/100", undefined],
  ["bytes */100", undefined],
  [undefined, undefined],
];
test.each(RANGES)("parseContentRange(%j)", (value, parsed) => expect(parseContentRange(value)).toEqual(parsed));
