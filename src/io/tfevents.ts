/**
 * TensorBoard event files: a TFRecord stream of `tensorflow.Event` protocol buffers, as TensorFlow's
 * `tf.summary.create_file_writer` writes them (file `events.out.tfevents.<seconds>.<host>.<pid>.<n>.v2`,
 * first record the `brain.Event:2` version event, summaries as tensor summaries with plugin metadata).
 *
 * The encoder is written by hand rather than with protobufjs: we only ever write six small messages
 * (Event, Summary, Summary.Value, SummaryMetadata, TensorProto, TensorShapeProto), which takes a varint,
 * a length-delimited field and two fixed-width numbers, while protobufjs would need the .proto schemas
 * of TensorFlow and a large dependency for them. Field numbers are from tensorflow/core/util/event.proto
 * and tensorflow/core/framework/{summary,tensor,tensor_shape,types}.proto. The CRC32C of the TFRecord
 * framing comes from the `crc-32` package, imported when the first writer opens.
 *
 * Records are kept in memory and appended to the file by `flush()` (the callback flushes at every epoch
 * end, so a killed run keeps every finished epoch). Event files are appended streams, as TensorFlow
 * writes them, not replaced atomically: TensorBoard reads them while training runs.
 */
import { appendFile, mkdir } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { KerasError } from "../errors.js";

// ---------------------------------------------------------------------------------------------
// Protocol buffer encoding (proto3 wire format)

/** A message under construction: its fields' encoded bytes in order. */
class Message {
  private readonly parts: Uint8Array[] = [];
  private size = 0;

  private push(bytes: Uint8Array): this {
    this.parts.push(bytes);
    this.size += bytes.length;
    return this;
  }

  private tag(field: number, wireType: number): this {
    return this.push(varint(field * 8 + wireType));
  }

  /** int64 / enum (wire type 0). */
  int(field: number, value: number): this {
    return this.tag(field, 0).push(varint(value));
  }

  double(field: number, value: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, value, true);
    return this.tag(field, 1).push(b);
  }

  bytes(field: number, value: Uint8Array): this {
    return this.tag(field, 2).push(varint(value.length)).push(value);
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, value: Message): this {
    return this.bytes(field, value.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

/** Unsigned varint of a non-negative integer below 2^53. */
function varint(value: number): Uint8Array {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Uint8Array.from(out);
}

/** TensorFlow DataType enum values (types.proto). */
const DT_FLOAT = 1;
const DT_DOUBLE = 2;
const DT_STRING = 7;

/** A TensorProto: dtype, shape, and either raw little-endian content or string values. */
function tensorProto(dtype: number, shape: readonly number[], content: Uint8Array | null, strings: Uint8Array[] = []) {
  const shapeProto = new Message();
  for (const d of shape) shapeProto.message(2, new Message().int(1, d));
  const m = new Message().int(1, dtype).message(2, shapeProto);
  if (content) m.bytes(4, content);
  for (const s of strings) m.bytes(8, s);
  return m;
}

/** SummaryMetadata with its plugin_data `{ plugin_name, content }`. */
function pluginMetadata(plugin: string, content?: Uint8Array): Message {
  const data = new Message().string(1, plugin);
  if (content?.length) data.bytes(2, content);
  return new Message().message(1, data);
}

/** An Event holding one summary value. */
function summaryEvent(wallTime: number, step: number, tag: string, tensor: Message, metadata: Message): Uint8Array {
  const value = new Message().string(1, tag).message(8, tensor).message(9, metadata);
  const event = new Message().double(1, wallTime);
  if (step !== 0) event.int(2, step);
  return event.message(5, new Message().message(1, value)).finish();
}

// ---------------------------------------------------------------------------------------------
// TFRecord framing

export type Crc = (data: Uint8Array, seed?: number) => number;
const crcs = new Map<string, Crc>();

/**
 * A checksum of the `crc-32` package, imported on first use: "crc32c" (Castagnoli, TFRecord framing)
 * or "crc32" (ISO-HDLC, PNG chunks).
 */
export async function loadCrc(fn: string, kind: "crc32c" | "crc32"): Promise<Crc> {
  const known = crcs.get(kind);
  if (known) return known;
  try {
    const mod = (await (kind === "crc32c" ? import("crc-32/crc32c.js") : import("crc-32/crc32.js"))) as unknown as {
      default?: { buf: Crc };
      buf?: Crc;
    };
    const buf = mod.buf ?? mod.default?.buf;
    if (!buf) throw new Error(`crc-32/${kind}.js has no buf()`);
    crcs.set(kind, buf);
    return buf;
  } catch (e) {
    throw new KerasError(
      fn,
      `TensorBoard event files need the package crc-32 (npm install crc-32@1.2.2): ${(e as Error).message}`,
      "io",
    );
  }
}

/** TFRecord's masked CRC32C: rotate right by 15 bits and add a constant (mod 2^32). */
function maskedCrc(crc: Crc, data: Uint8Array): number {
  const c = crc(data) >>> 0;
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
}

/** One TFRecord: length (uint64 LE), its masked CRC, the data, the data's masked CRC. */
export function tfRecord(crc: Crc, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + 4 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length, true);
  view.setUint32(4, 0, true);
  view.setUint32(8, maskedCrc(crc, out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc(crc, data), true);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The writer

/** TensorFlow numbers the event files a process opens (the `<n>` in the file name). */
let fileCounter = 0;

export const SCALARS_PLUGIN = "scalars";
export const HISTOGRAMS_PLUGIN = "histograms";
export const KERAS_GRAPH_PLUGIN = "graph_keras_model";
export const IMAGES_PLUGIN = "images";
/** The writer named in each file's first event (TensorFlow puts its events writer's module there). */
const SOURCE_WRITER = "tskeras";

/** One event file in `dir`, created by `open()`; summaries are buffered until `flush()`. */
export class EventFileWriter {
  private pending: Uint8Array[] = [];
  private writing: Promise<void> = Promise.resolve();
  private constructor(
    private readonly fn: string,
    readonly path: string,
    private readonly crc: Crc,
  ) {}

  /** Creates `dir` (and parents) and the event file with its version record. */
  static async open(fn: string, dir: string): Promise<EventFileWriter> {
    const crc = await loadCrc(fn, "crc32c");
    const now = Date.now() / 1000;
    const name = `events.out.tfevents.${Math.floor(now)}.${hostname()}.${process.pid}.${fileCounter++}.v2`;
    const writer = new EventFileWriter(fn, join(dir, name), crc);
    try {
      await mkdir(dir, { recursive: true });
    } catch (e) {
      throw new KerasError(fn, `cannot create the log directory ${JSON.stringify(dir)}: ${(e as Error).message}`, "io");
    }
    const version = new Message()
      .double(1, Math.floor(now))
      .string(3, "brain.Event:2")
      .message(10, new Message().string(1, SOURCE_WRITER));
    writer.pending.push(tfRecord(crc, version.finish()));
    await writer.flush();
    return writer;
  }

  private add(step: number, tag: string, tensor: Message, metadata: Message): void {
    this.pending.push(tfRecord(this.crc, summaryEvent(Date.now() / 1000, step, tag, tensor, metadata)));
  }

  /** A scalar summary (float32, as tf.summary.scalar writes it). */
  scalar(tag: string, value: number, step: number): void {
    const content = new Uint8Array(4);
    new DataView(content.buffer).setFloat32(0, value, true);
    this.add(step, tag, tensorProto(DT_FLOAT, [], content), pluginMetadata(SCALARS_PLUGIN));
  }

  /** A histogram summary: rows of `[left edge, right edge, count]` (float64, shape [k, 3]). */
  histogram(tag: string, buckets: Float64Array, step: number): void {
    const content = new Uint8Array(buckets.length * 8);
    const view = new DataView(content.buffer);
    buckets.forEach((v, i) => view.setFloat64(i * 8, v, true));
    this.add(step, tag, tensorProto(DT_DOUBLE, [buckets.length / 3, 3], content), pluginMetadata(HISTOGRAMS_PLUGIN));
  }

  /** A string tensor summary of the given shape and plugin (the Keras model config, images). */
  strings(
    tag: string,
    values: readonly (string | Uint8Array)[],
    shape: readonly number[],
    step: number,
    plugin: string,
    pluginContent?: Uint8Array,
  ): void {
    const bytes = values.map((v) => (typeof v === "string" ? new TextEncoder().encode(v) : v));
    this.add(step, tag, tensorProto(DT_STRING, shape, null, bytes), pluginMetadata(plugin, pluginContent));
  }

  /** Number of records not yet written. */
  get pendingCount(): number {
    return this.pending.length;
  }

  /** Appends the buffered records to the file; flushes run one after another. */
  flush(): Promise<void> {
    if (!this.pending.length) return this.writing;
    const chunk = Buffer.concat(this.pending);
    this.pending = [];
    this.writing = this.writing.then(async () => {
      try {
        await appendFile(this.path, chunk);
      } catch (e) {
        throw new KerasError(
          this.fn,
          `cannot write the event file ${JSON.stringify(this.path)}: ${(e as Error).message}`,
          "io",
        );
      }
    });
    return this.writing;
  }
}

/**
 * TensorBoard's histogram of `data` (tensorboard.plugins.histogram.summary_v2's `_buckets`): `count`
 * equal-width buckets from min to max, values at max in the last one; a single value gives `count`
 * zero-width buckets at that value with every count in the last; no data gives zeros.
 */
export function histogramBuckets(data: ArrayLike<number>, count = 30): Float64Array {
  const out = new Float64Array(count * 3);
  const n = data.length;
  if (n === 0 || count === 0) return out;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    min = Math.min(min, data[i]);
    max = Math.max(max, data[i]);
  }
  const range = max - min;
  if (range === 0) {
    for (let b = 0; b < count; b++) out.set([max, max, b === count - 1 ? n : 0], b * 3);
    return out;
  }
  const width = range / count;
  const counts = new Float64Array(count);
  for (let i = 0; i < n; i++) counts[Math.min(Math.floor((data[i] - min) / width), count - 1)] += 1;
  // tf.linspace(min, max, count + 1) with the last edge set to max exactly.
  const step = range / count;
  const edge = (b: number) => (b === count ? max : min + b * step);
  for (let b = 0; b < count; b++) out.set([edge(b), edge(b + 1), counts[b]], b * 3);
  return out;
}
