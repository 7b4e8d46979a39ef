/**
 * PNG encoding of 8-bit pixel data (grey, RGB or RGBA), for TensorBoard image summaries. Written here
 * rather than taken from a PNG package: an 8-bit PNG is a signature and three chunks (IHDR, one IDAT of
 * zlib-compressed rows each led by filter byte 0, IEND); node:zlib compresses and the `crc-32` package,
 * already used for the event files, gives the chunk checksums.
 */
import { deflateSync } from "node:zlib";
import { loadCrc } from "./tfevents.js";

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
/** PNG colour types by channel count. */
const COLOR_TYPE: Readonly<Record<number, number>> = { 1: 0, 3: 2, 4: 6 };

/** The PNG file of a `height` x `width` image with `channels` (1, 3 or 4) bytes per pixel, row-major. */
export async function encodePng(
  fn: string,
  width: number,
  height: number,
  channels: 1 | 3 | 4,
  pixels: Uint8Array,
): Promise<Uint8Array> {
  const crc = await loadCrc(fn, "crc32");
  const chunk = (type: string, data: Uint8Array) => {
    const out = new Uint8Array(12 + data.length);
    const view = new DataView(out.buffer);
    view.setUint32(0, data.length);
    out.set(new TextEncoder().encode(type), 4);
    out.set(data, 8);
    view.setUint32(8 + data.length, crc(out.subarray(4, 8 + data.length)) >>> 0);
    return out;
  };
  const header = new Uint8Array(13);
  const h = new DataView(header.buffer);
  h.setUint32(0, width);
  h.setUint32(4, height);
  header.set([8, COLOR_TYPE[channels], 0, 0, 0], 8);
  const stride = width * channels;
  const rows = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++) rows.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  return Buffer.concat([
    SIGNATURE,
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(rows)),
    chunk("IEND", new Uint8Array()),
  ]);
}
