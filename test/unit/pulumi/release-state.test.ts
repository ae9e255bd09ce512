// The one place the engine's property bags become the provider's typed inputs and state.
import { InvalidInputError } from "../../../provider/errors";
import { PropertyBag, recordedState, releaseProps } from "../../../provider/pulumi/release-state";

const INPUTS: PropertyBag = {
  connection: { host: "10.0.0.7", port: 22, user: "root", password: "pw" },
  version: "4.4.16",
  packagePath: "/tmp/emqx-4.4.16-otp24.3.4.2-1-ubuntu20.04-amd64.zip",
};

test("releaseProps keeps the bag as it is (every key the engine echoes, outputs too), typed", () => {
  const bag = { ...INPUTS, currentVersion: "4.4.0", __recordFailure: true, somethingElse: 1 };
  const props = releaseProps(bag);
  expect(props).toBe(bag);
  expect([props.version, props.connection.host, props.currentVersion, props.__recordFailure]).toEqual([
    "4.4.16",
    "10.0.0.7",
    "4.4.0",
    true,
  ]);
});

// Row: [what is wrong, the bag, the property named, a fragment of the reason]
const BAD: [string, PropertyBag, string, RegExp][] = [
  ["a version EMQX does not use", { ...INPUTS, version: "v4.4.16" }, "version", /4\.4\.\d+/],
  ["no connection", { ...INPUTS, connection: undefined }, "connection", /./],
  ["a host with a space", { ...INPUTS, connection: { host: "bad host" } }, "connection.host", /host name or IP/],
  ["a shell in emqxPath", { ...INPUTS, emqxPath: "emqx; rm -rf /" }, "emqxPath", /./],
  ["a health gate that is not an object", { ...INPUTS, healthGate: "yes" }, "healthGate", /must be an object/],
];
test.each(BAD)("fails with InvalidInputError for %s", (_what, bag, property, reason) => {
  let err: unknown;
  try {
    releaseProps(bag);
  } catch (e) {
    err = e;
  }
  expect(InvalidInputError.isInstance(err)).toBe(true);
  expect(err).toMatchObject({ property });
  expect((err as InvalidInputError).reason).toMatch(reason);
  expect((err as Error).message.startsWith(`${property}: `)).toBe(true);
});

test("recordedState never throws: diff reads state that may be partial or from a failed record", () => {
  for (const bag of [{}, { currentVersion: "" }, { hostFacts: {}, installedVersions: [] }, { version: 7 }]) {
    expect(recordedState(bag)).toBe(bag);
  }
});
