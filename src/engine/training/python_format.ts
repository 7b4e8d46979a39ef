/**
 * Python's `str.format` for the numbers of a checkpoint path (`"ckpt-{epoch:02d}-{val_loss:.2f}.keras"`):
 * replacement fields `{name}`, `{name:spec}`, `{name!r}` / `{name!s}`, and `{{` / `}}`, with the
 * format-spec mini-language `[[fill]align][sign][z][#][0][width][grouping][.precision][type]` for the
 * types Python has for int and float (d, b, o, x, X, n; e, E, f, F, g, G, %, none), rounding as Python
 * does (the exact binary value, ties to even). Integers (epoch, batch) and floats (logs) format as
 * Python's int and float do: `{loss:d}` is an error there, so it is one here.
 */
import { KerasError } from "../../errors.js";

/** A value to format: a Python int or a Python float. */
export type PyNumber = { readonly int: number } | { readonly float: number };

interface Spec {
  fill: string;
  align: string | null;
  sign: string;
  z: boolean;
  alternate: boolean;
  width: number;
  grouping: string;
  precision: number | null;
  type: string;
}

const SPEC = /^(?:(.)?([<>=^]))?([-+ ])?(z)?(#)?(0)?(\d+)?([,_])?(?:\.(\d+))?([bcdeEfFgGnosxX%])?$/su;

function parseSpec(text: string): Spec | null {
  const m = SPEC.exec(text);
  if (!m) return null;
  const [, fill, align, sign, z, alt, zero, width, grouping, precision, type] = m;
  return {
    fill: fill ?? (zero && !align ? "0" : " "),
    align: align ?? (zero ? "=" : null),
    sign: sign ?? "-",
    z: !!z,
    alternate: !!alt,
    width: width ? Number(width) : 0,
    grouping: grouping ?? "",
    precision: precision !== undefined ? Number(precision) : null,
    type: type ?? "",
  };
}

// ---------------------------------------------------------------------------------------------
// Exact decimal digits of a double

/** |x| exactly as a decimal: `digits` with the point `point` places from the left (x finite, x != 0 allowed). */
function exactDecimal(x: number): { digits: string; point: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(x));
  const bits = view.getBigUint64(0);
  const exponent = Number((bits >> 52n) & 0x7ffn);
  let mantissa = bits & ((1n << 52n) - 1n);
  let e2: number;
  if (exponent === 0) e2 = -1074;
  else {
    mantissa |= 1n << 52n;
    e2 = exponent - 1075;
  }
  if (e2 >= 0) {
    const digits = (mantissa << BigInt(e2)).toString();
    return { digits, point: digits.length };
  }
  const digits = (mantissa * 5n ** BigInt(-e2)).toString().padStart(-e2 + 1, "0");
  return { digits, point: digits.length + e2 };
}

/** Rounds the decimal digits to `keep` digits (half to even), returning the kept digits and a carry. */
function roundDigits(digits: string, keep: number): { digits: string; carry: boolean } {
  if (keep < 0) return { digits: "", carry: false };
  if (keep >= digits.length) return { digits: digits.padEnd(keep, "0"), carry: false };
  const head = digits.slice(0, keep);
  const rest = digits.slice(keep);
  const first = rest.charCodeAt(0) - 48;
  const tail = /[1-9]/.test(rest.slice(1));
  const lastOdd = keep > 0 && (head.charCodeAt(keep - 1) - 48) % 2 === 1;
  const up = first > 5 || (first === 5 && (tail || lastOdd));
  if (!up) return { digits: head, carry: false };
  const n = (BigInt(head || "0") + 1n).toString().padStart(keep, "0");
  return n.length > keep ? { digits: n.slice(1), carry: true } : { digits: n, carry: false };
}

/** |x| with `decimals` digits after the point (Python's 'f'). */
function fixed(x: number, decimals: number): string {
  const { digits, point } = exactDecimal(x);
  const padded = point <= 0 ? "0".repeat(1 - point) + digits : digits;
  const intLength = Math.max(point, 1);
  const r = roundDigits(padded, intLength + decimals);
  let all = r.digits;
  let intLen = intLength;
  if (r.carry) {
    all = "1" + all;
    intLen++;
  }
  const intPart = all.slice(0, intLen).replace(/^0+(?=\d)/, "");
  const frac = all.slice(intLen);
  return decimals > 0 ? `${intPart}.${frac}` : intPart;
}

/** |x| as d.ddd and a decimal exponent, with `significant` digits (x != 0). */
function scientificParts(x: number, significant: number): { mantissa: string; exponent: number } {
  if (x === 0) return { mantissa: "0".repeat(significant), exponent: 0 };
  const { digits, point } = exactDecimal(x);
  const lead = digits.search(/[1-9]/);
  const r = roundDigits(digits.slice(lead), significant);
  let exponent = point - lead - 1;
  let mantissa = r.digits;
  if (r.carry) {
    mantissa = ("1" + mantissa).slice(0, significant);
    exponent++;
  }
  return { mantissa, exponent };
}

const expText = (e: number) => `e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;

function scientific(x: number, decimals: number, alternate: boolean): string {
  const { mantissa, exponent } = scientificParts(x, decimals + 1);
  const point = decimals > 0 || alternate ? "." : "";
  return `${mantissa[0]}${point}${mantissa.slice(1)}${expText(exponent)}`;
}

/**
 * Python's 'g'; with `noType` the float format without a type, which switches to scientific notation
 * one exponent earlier and keeps a digit after the point.
 */
function general(x: number, precision: number, alternate: boolean, noType: boolean): string {
  const p = precision === 0 ? 1 : precision;
  const exponent = x === 0 ? 0 : scientificParts(x, p).exponent;
  let out: string;
  if (exponent >= -4 && exponent < (noType ? p - 1 : p)) out = fixed(x, p - 1 - exponent);
  else out = scientific(x, p - 1, alternate);
  if (!alternate) out = out.replace(/\.?0+(?=e|$)/, (m) => (m.startsWith(".") || out.includes(".") ? "" : m));
  if (noType && !/[.e]/.test(out)) out += ".0";
  return out;
}

/** Python's repr of a float: the shortest digits that read back, fixed for exponents in [-4, 16). */
function repr(x: number): string {
  const [m, e] = Math.abs(x).toExponential().split("e");
  const exponent = Number(e);
  const digits = m.replace(".", "");
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) return `0.${"0".repeat(-exponent - 1)}${digits}`;
    const intPart = digits.slice(0, exponent + 1).padEnd(exponent + 1, "0");
    const frac = digits.slice(exponent + 1);
    return `${intPart}.${frac || "0"}`;
  }
  return `${digits[0]}${digits.length > 1 ? "." + digits.slice(1) : ""}${expText(exponent)}`;
}

function group(intPart: string, sep: string, every = 3): string {
  if (!sep) return intPart;
  const out: string[] = [];
  for (let i = intPart.length; i > 0; i -= every) out.unshift(intPart.slice(Math.max(0, i - every), i));
  return out.join(sep);
}

function pad(sign: string, body: string, spec: Spec, defaultAlign: string): string {
  const text = sign + body;
  const room = spec.width - [...text].length;
  if (room <= 0) return text;
  const fill = spec.fill.repeat(room);
  switch (spec.align ?? defaultAlign) {
    case "<":
      return text + fill;
    case "^": {
      const left = Math.floor(room / 2);
      return spec.fill.repeat(left) + text + spec.fill.repeat(room - left);
    }
    case "=":
      return sign + fill + body;
    default:
      return fill + text;
  }
}

function formatNumber(value: PyNumber, spec: Spec, fail: (why: string) => never): string {
  const isInt = "int" in value;
  let type = spec.type;
  const x = isInt ? value.int : type === "%" ? value.float * 100 : value.float;
  if (isInt && "bcdoxXn".includes(type) && spec.precision !== null)
    fail("Precision not allowed in integer format specifier");
  if (isInt && "eEfFgG%".includes(type) && type !== "") {
    // Python formats an int with a float type as the float.
    return formatNumber({ float: x }, spec, fail);
  }
  if (!isInt && "bcdoxX".includes(type) && type !== "")
    fail(`Unknown format code '${type}' for object of type 'float'`);
  if (isInt && type === "c") fail("the 'c' format (a character) is not supported here");
  const negative = x < 0 || Object.is(x, -0);
  let body: string;
  if (!Number.isFinite(x)) body = (Number.isNaN(x) ? "nan" : "inf") + (type === "%" ? "%" : "");
  else if (isInt) {
    const n = Math.abs(x);
    const radix = type === "b" ? 2 : type === "o" ? 8 : type === "x" || type === "X" ? 16 : 10;
    body = n.toString(radix);
    if (type === "X") body = body.toUpperCase();
    body = group(body, spec.grouping, radix === 10 ? 3 : 4);
    if (spec.alternate && radix !== 10) body = `0${type === "X" ? "X" : type}${body}`;
  } else {
    if (type === "n") type = "g";
    const p = spec.precision;
    if (type === "f" || type === "F") body = fixed(x, p ?? 6);
    else if (type === "%") body = fixed(x, p ?? 6) + "%";
    else if (type === "e" || type === "E") body = scientific(x, p ?? 6, spec.alternate);
    else if (type === "g" || type === "G") body = general(x, p ?? 6, spec.alternate, false);
    else body = p === null ? repr(x) : general(x, p, spec.alternate, true);
    if (spec.alternate && (type === "f" || type === "F") && !body.includes(".")) body += ".";
    if (type === "E" || type === "G" || type === "F") body = body.toUpperCase();
    if (spec.grouping) body = body.replace(/^\d+/, (d) => group(d, spec.grouping));
    if (spec.z && negative && !/[1-9]/.test(body))
      return pad(spec.sign === "+" ? "+" : spec.sign === " " ? " " : "", body, spec, ">");
  }
  if (!Number.isFinite(x) && "EFG".includes(type) && type !== "") body = body.toUpperCase();
  const sign = negative && !Number.isNaN(x) ? "-" : spec.sign === "+" ? "+" : spec.sign === " " ? " " : "";
  if (spec.fill === "0" && spec.align === "=" && spec.grouping && Number.isFinite(x)) {
    // Python groups the zero padding too: format(1234, "08,d") is "0,001,234".
    const digits = body.replace(/[^0-9]/g, "");
    const tail = body.replace(/^[0-9,_]+/, "");
    let d = digits.slice(0, digits.length - (tail.replace(/[^0-9]/g, "").length || 0));
    let grouped = group(d, spec.grouping);
    while ([...(sign + grouped + tail)].length < spec.width) {
      d = "0" + d;
      grouped = group(d, spec.grouping);
    }
    return sign + grouped + tail;
  }
  return pad(sign, body, spec, ">");
}

/**
 * `template` formatted like Python's `template.format(**values)`. An unknown field, a positional
 * field, an attribute or index, or a spec Python would refuse is a KerasError of `fn` naming the
 * template and the fields there are.
 */
export function pythonFormat(fn: string, template: string, values: Readonly<Record<string, PyNumber>>): string {
  const fail = (why: string): never => {
    throw new KerasError(
      fn,
      `cannot fill in the placeholders of \`filepath\` "${template}": ${why} (fields available: ${Object.keys(values).join(", ")})`,
    );
  };
  let out = "";
  let i = 0;
  while (i < template.length) {
    const c = template[i];
    if (c === "}") {
      if (template[i + 1] !== "}") fail("Single '}' encountered in format string");
      out += "}";
      i += 2;
      continue;
    }
    if (c !== "{") {
      out += c;
      i++;
      continue;
    }
    if (template[i + 1] === "{") {
      out += "{";
      i += 2;
      continue;
    }
    const close = template.indexOf("}", i);
    if (close < 0) fail("Single '{' encountered in format string");
    const field = template.slice(i + 1, close);
    i = close + 1;
    const m = /^([^!:]*)(?:!([rsa]))?(?::(.*))?$/s.exec(field)!;
    const [, name, , specText = ""] = m;
    if (name === "" || /^\d+$/.test(name))
      fail(`the positional field {${name}} has no value (name the field, e.g. {epoch})`);
    if (/[.[]/.test(name)) fail(`{${name}}: attributes and indices are not supported`);
    if (specText.includes("{")) fail(`{${field}}: nested fields are not supported`);
    const value = values[name];
    if (value === undefined) fail(`there is no value for {${name}}`);
    const spec = parseSpec(specText);
    if (!spec) fail(`Invalid format specifier '${specText}' for {${name}}`);
    out += m[2]
      ? pad("", formatNumber(value, { ...spec!, type: "", precision: null }, fail), spec!, "<")
      : formatNumber(value, spec!, fail);
  }
  return out;
}
