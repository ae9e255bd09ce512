// A tiny zip writer for test fixtures: local file headers, central directory, end record; entries
// deflated (zlib raw deflate) when that is smaller, else stored; Unix mode bits in the external
// attributes, as Info-ZIP `zip` writes them. No zip64, so the archive must stay under 4 GiB.
// Tests also use it to craft broken archives (a declared size that lies, see `declaredSize`).
import { randomFillSync } from "crypto";
import { promises as fsp } from "fs";
import { deflateRawSync } from "zlib";

/** One entry to write. A name ending in `/` is a directory (no data). */
export interface ZipEntrySpec {
  name: string;
  /** File content; `{ randomBytes: n }` streams n incompressible bytes without holding them. */
  data?: Buffer | string | { randomBytes: number };
  /** Unix permission bits. @default 0o644 for files, 0o755 for directories */
  mode?: number;
  /** Uncompressed size written in both headers instead of the real one (to fake a zip bomb).
   * @default the real size */
  declaredSize?: number;
}

const CRC_TABLE = makeCrcTable();

function makeCrcTable(): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

// CRC-32 (IEEE 802.3, the zip one) of `buf`, continuing from `crc` (start with 0).
export function crc32(buf: Buffer, crc = 0): number {
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** 2023-01-01 00:00:00 in MS-DOS time/date, so archives are reproducible. */
const DOS_TIME = 0;
const DOS_DATE = ((2023 - 1980) << 9) | (1 << 5) | 1;
const RANDOM_CHUNK = 1 << 20;
const MAX_ZIP_BYTES = 0xffffffff;

interface Written {
  name: Buffer;
  offset: number;
  crc: number;
  method: number;
  compressedSize: number;
  uncompressedSize: number;
  externalAttributes: number;
  isDirectory: boolean;
}

// Writes `entries` as a zip archive at `zipPath` (overwriting it).
export async function writeZip(zipPath: string, entries: ZipEntrySpec[]): Promise<void> {
  const fh = await fsp.open(zipPath, "w");
  try {
    let pos = 0;
    const write = async (buf: Buffer, at?: number): Promise<void> => {
      await fh.write(buf, 0, buf.length, at ?? pos);
      if (at === undefined) pos += buf.length;
    };
    const written: Written[] = [];
    for (const e of entries) {
      const isDirectory = e.name.endsWith("/");
      const name = Buffer.from(e.name, "utf8");
      const mode = (e.mode ?? (isDirectory ? 0o755 : 0o644)) | (isDirectory ? 0o040000 : 0o100000);
      const w: Written = {
        name,
        offset: pos,
        crc: 0,
        method: 0,
        compressedSize: 0,
        uncompressedSize: 0,
        externalAttributes: ((mode << 16) | (isDirectory ? 0x10 : 0)) >>> 0,
        isDirectory,
      };
      if (e.data !== undefined && typeof e.data === "object" && !Buffer.isBuffer(e.data)) {
        // Stream random bytes stored: write the header, the data, then patch in the CRC.
        const total = e.data.randomBytes;
        w.compressedSize = w.uncompressedSize = total;
        await write(localHeader(w, e.declaredSize));
        const dataStart = pos;
        let crc = 0;
        for (let done = 0; done < total; done += RANDOM_CHUNK) {
          const chunk = randomFillSync(Buffer.allocUnsafe(Math.min(RANDOM_CHUNK, total - done)));
          crc = crc32(chunk, crc);
          await write(chunk);
        }
        w.crc = crc;
        const crcBuf = Buffer.alloc(4);
        crcBuf.writeUInt32LE(crc);
        await write(crcBuf, dataStart - 30 - name.length + 14);
      } else {
        const raw =
          e.data === undefined ? Buffer.alloc(0) : Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data, "utf8");
        const deflated = raw.length > 0 ? deflateRawSync(raw) : raw;
        const useDeflate = deflated.length < raw.length;
        w.crc = crc32(raw);
        w.method = useDeflate ? 8 : 0;
        w.uncompressedSize = raw.length;
        w.compressedSize = useDeflate ? deflated.length : raw.length;
        await write(localHeader(w, e.declaredSize));
        await write(useDeflate ? deflated : raw);
      }
      if (e.declaredSize !== undefined) w.uncompressedSize = e.declaredSize;
      written.push(w);
      if (pos > MAX_ZIP_BYTES) throw new Error(`writeZip: ${zipPath} would exceed 4 GiB (no zip64 support)`);
    }
    const cdStart = pos;
    for (const w of written) await write(centralHeader(w));
    await write(endRecord(written.length, pos - cdStart, cdStart));
  } finally {
    await fh.close();
  }
}

function localHeader(w: Written, declaredSize: number | undefined): Buffer {
  const b = Buffer.alloc(30 + w.name.length);
  b.writeUInt32LE(0x04034b50, 0);
  b.writeUInt16LE(20, 4); // version needed: 2.0
  b.writeUInt16LE(0x0800, 6); // flags: UTF-8 names
  b.writeUInt16LE(w.method, 8);
  b.writeUInt16LE(DOS_TIME, 10);
  b.writeUInt16LE(DOS_DATE, 12);
  b.writeUInt32LE(w.crc, 14);
  b.writeUInt32LE(w.compressedSize, 18);
  b.writeUInt32LE(declaredSize ?? w.uncompressedSize, 22);
  b.writeUInt16LE(w.name.length, 26);
  b.writeUInt16LE(0, 28);
  w.name.copy(b, 30);
  return b;
}

function centralHeader(w: Written): Buffer {
  const b = Buffer.alloc(46 + w.name.length);
  b.writeUInt32LE(0x02014b50, 0);
  b.writeUInt16LE((3 << 8) | 30, 4); // made by: Unix, spec 3.0 (so readers honour the mode bits)
  b.writeUInt16LE(20, 6);
  b.writeUInt16LE(0x0800, 8);
  b.writeUInt16LE(w.method, 10);
  b.writeUInt16LE(DOS_TIME, 12);
  b.writeUInt16LE(DOS_DATE, 14);
  b.writeUInt32LE(w.crc, 16);
  b.writeUInt32LE(w.compressedSize, 20);
  b.writeUInt32LE(w.uncompressedSize, 24);
  b.writeUInt16LE(w.name.length, 28);
  b.writeUInt16LE(0, 30); // extra length
  b.writeUInt16LE(0, 32); // comment length
  b.writeUInt16LE(0, 34); // disk number
  b.writeUInt16LE(0, 36); // internal attributes
  b.writeUInt32LE(w.externalAttributes, 38);
  b.writeUInt32LE(w.offset, 42);
  w.name.copy(b, 46);
  return b;
}

function endRecord(count: number, cdSize: number, cdStart: number): Buffer {
  const b = Buffer.alloc(22);
  b.writeUInt32LE(0x06054b50, 0);
  b.writeUInt16LE(count, 8);
  b.writeUInt16LE(count, 10);
  b.writeUInt32LE(cdSize, 12);
  b.writeUInt32LE(cdStart, 16);
  return b;
}
