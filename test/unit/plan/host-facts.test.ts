import {
  editionFromDescription,
  mapArch,
  osIdFromOsRelease,
  otpMajorFromErts,
} from "../../../provider/plan/host-facts";

// Row: [/etc/os-release text, EMQX os token]
const OS_ROWS: [string, string | undefined][] = [
  ['ID=ubuntu\nVERSION_ID="20.04"\n', "ubuntu20.04"],
  ['ID=ubuntu\r\nVERSION_ID="22.04"\r\n', "ubuntu22.04"],
  ['PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n', "debian12"],
  ['ID="rocky"\nVERSION_ID="8.9"\n', "el8"],
  ['ID="rhel"\nVERSION_ID="7.9"\n', "el7"],
  ['ID="almalinux"\nVERSION_ID="9.3"\n', "el9"],
  ['ID="amzn"\nVERSION_ID="2"\n', "amzn2"],
  ['ID=raspbian\nVERSION_ID="10"\n', "raspbian10"],
  // The last line without a newline (a hand-edited or generated file), and Debian 12's whole file.
  ['ID=ubuntu\nVERSION_ID="22.04"', "ubuntu22.04"],
  ['VERSION_ID="12"\nID=debian', "debian12"],
  [
    'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\nHOME_URL="https://www.debian.org/"\n',
    "debian12",
  ],
  ["ID=arch\n", undefined],
  ["", undefined],
];
test.each(OS_ROWS)("osIdFromOsRelease(%j) is %s", (text, expected) => expect(osIdFromOsRelease(text)).toBe(expected));

// Row: [uname -m, EMQX arch]
const ARCH_ROWS: [string, string | undefined][] = [
  ["x86_64", "amd64"],
  ["aarch64", "arm64"],
  ["armv7l", "arm"],
  ["x86_64\n", "amd64"],
  ["riscv64", undefined],
  ["i686", undefined],
];
test.each(ARCH_ROWS)("mapArch(%j) is %s", (m, expected) => expect(mapArch(m)).toBe(expected));

// Row: [ERTS version, OTP major]
const ERTS_ROWS: [string, number | undefined][] = [
  ["12.1.5", 24],
  ["12.3.2.2", 24],
  ["13.1.5", 25],
  ["11.2", 23],
  ["", undefined],
  ["abc", undefined],
];
test.each(ERTS_ROWS)("otpMajorFromErts(%j) is %s", (erts, expected) => expect(otpMajorFromErts(erts)).toBe(expected));

test("editionFromDescription recognises Enterprise and defaults to CE", () => {
  expect(editionFromDescription("EMQX Enterprise")).toBe("ee");
  expect(editionFromDescription("EMQ X Broker")).toBe("ce");
  expect(editionFromDescription(undefined)).toBe("ce");
});

test("osIdFromOsRelease stays fast on pathological lines", () => {
  const start = Date.now();
  osIdFromOsRelease("ID=" + '"'.repeat(100_000) + "\n" + "A".repeat(100_000) + "=\n");
  expect(Date.now() - start).toBeLessThan(500);
});
