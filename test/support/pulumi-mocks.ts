// The engine replaced by pulumi.runtime.setMocks for unit tests of resources and components: every
// registration is recorded, and a resource's state is its inputs plus what `outputsOf` adds.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

/** What the mocked engine saw, and a package file named as EMQX names it. */
export interface MockedEngine {
  registered: pulumi.runtime.MockResourceArgs[];
  /** Path of a small file named `emqx-4.4.16-otp24.3.4.2-1-debian12-amd64.zip`. */
  packagePath: string;
  /** The inputs a resource of that name was registered with. */
  inputsOf(name: string): Record<string, unknown>;
  cleanup(): void;
}

/** Installs the mocks; `outputsOf` gives the outputs the engine returns besides the inputs. */
export async function mockEngine(
  outputsOf: (args: pulumi.runtime.MockResourceArgs) => Record<string, unknown>,
): Promise<MockedEngine> {
  const registered: pulumi.runtime.MockResourceArgs[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registered.push(args);
        return { id: `${args.name}-id`, state: { ...args.inputs, ...outputsOf(args) } };
      },
      call: () => ({}),
    },
    "project",
    "stack",
    false,
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mocked-engine-"));
  const packagePath = path.join(dir, "emqx-4.4.16-otp24.3.4.2-1-debian12-amd64.zip");
  fs.writeFileSync(packagePath, "package bytes");
  return {
    registered,
    packagePath,
    inputsOf: (name) => registered.find((r) => r.name === name)?.inputs as Record<string, unknown>,
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** Resolves an output's value (mocks resolve every output). */
export const valueOf = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve));
