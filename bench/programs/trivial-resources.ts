// The yardstick of the preview benchmark: `count` trivial dynamic resources (config `count`,
// @default 100), each with a check, a diff and a create that do nothing but echo their inputs.
import * as pulumi from "@pulumi/pulumi";

export const trivialProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news) {
    return { inputs: news };
  },
  async diff(_id, olds, news) {
    return { changes: olds.value !== news.value };
  },
  async create(inputs) {
    return { id: String(inputs.value), outs: inputs };
  },
};

/** One trivial resource (type pulumi-nodejs:dynamic/bench:Trivial). */
class Trivial extends pulumi.dynamic.Resource {
  constructor(name: string, args: { value: pulumi.Input<string> }) {
    super(trivialProvider, name, args, {}, "bench", "Trivial");
  }
}

/** The program: `count` Trivial resources named t0..t(count-1). */
export default async function program(): Promise<Record<string, unknown>> {
  const count = new pulumi.Config().getNumber("count") ?? 100;
  for (let i = 0; i < count; i++) new Trivial(`t${i}`, { value: `v${i}` });
  return { count };
}
