// openProbe against a minimal in-process MQTT server (mqtt-packet, on a loopback socket standing in
// for the forwarded SSH channel): it connects, a QoS 1 round trip says "open", a session the server
// closed says "closed", silence says "no answer", and a server that never sends CONNACK is an error
// that says so. (Through a real SSH channel to a real broker: client-impact.otp-host.test.ts.)
import * as net from "net";
import { generate, parser, type Packet } from "mqtt-packet";
import { openProbe } from "../../../provider/emqx/probe-client";

type Behaviour = { connack: boolean; puback: boolean };
let server: net.Server;
let port: number;
const sockets: net.Socket[] = [];
const behaviour: Behaviour = { connack: true, puback: true };

beforeAll(async () => {
  server = net.createServer((socket) => {
    sockets.push(socket);
    const p = parser({ protocolVersion: 4 });
    p.on("packet", (packet: Packet) => {
      if (packet.cmd === "connect" && behaviour.connack)
        socket.write(generate({ cmd: "connack", returnCode: 0, sessionPresent: false }));
      if (packet.cmd === "publish" && packet.qos === 1 && behaviour.puback)
        socket.write(generate({ cmd: "puback", messageId: packet.messageId }));
      if (packet.cmd === "pingreq") socket.write(generate({ cmd: "pingresp" }));
    });
    socket.on("data", (d) => p.parse(d));
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as net.AddressInfo).port;
});
afterAll(async () => {
  sockets.forEach((s) => s.destroy());
  await new Promise((r) => server.close(r));
});
beforeEach(() => Object.assign(behaviour, { connack: true, puback: true }));

const open = () => Promise.resolve(net.connect(port, "127.0.0.1"));
const target = () => ({ host: "127.0.0.1", port });

test("a session that stays open answers a QoS 1 publish", async () => {
  const probe = await openProbe(open, target(), "probe-a", 2000);
  const seen = await probe.observe(2000);
  expect(seen.state).toBe("open");
  await probe.end();
});

test("a session the server closed is seen as closed", async () => {
  const probe = await openProbe(open, target(), "probe-b", 2000);
  sockets[sockets.length - 1].destroy();
  await new Promise((r) => setTimeout(r, 100));
  expect(await probe.observe(2000)).toEqual({ state: "closed", reason: "the broker closed the connection" });
  await probe.end();
});

test("a server that takes the publish but never acknowledges it is no answer (cannot tell)", async () => {
  const probe = await openProbe(open, target(), "probe-c", 2000);
  behaviour.puback = false;
  expect(await probe.observe(300)).toEqual({ state: "no answer", reason: "no PUBACK within 300 ms" });
  await probe.end();
});

test("fails saying so when the server never sends CONNACK", async () => {
  behaviour.connack = false;
  await expect(openProbe(open, target(), "probe-d", 500)).rejects.toThrow(
    /^MQTT CONNECT to 127\.0\.0\.1:\d+ failed: connack timeout$|^no CONNACK from 127\.0\.0\.1:\d+ within 500 ms$/,
  );
});
