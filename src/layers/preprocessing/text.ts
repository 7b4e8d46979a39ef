/**
 * TextVectorization's string steps on the host, as TensorFlow's string ops do them: lowercasing ASCII
 * letters only (tf.strings.lower), stripping ASCII punctuation (Keras's regex), splitting on runs of
 * ASCII whitespace (tf.strings.split) or into code points (tf.strings.unicode_split), and n-grams
 * joined by a space (tf.strings.ngrams: all n-grams of the first width, then of the next).
 */
import { KerasError, callUser, describeValue } from "../../errors.js";

export type Standardize = "lower_and_strip_punctuation" | "lower" | "strip_punctuation" | ((s: string) => string);
export type Split = "whitespace" | "character" | ((s: string) => readonly string[]);

/** tf.strings.lower without an encoding: A-Z only (É, Σ are left as they are). */
export const lowerAscii = (s: string): string => s.replace(/[A-Z]+/g, (m) => m.toLowerCase());

/** Keras's DEFAULT_STRIP_REGEX: Python's string.punctuation. */
const PUNCTUATION = /[!"#$%&()*+,\-./:;<=>?@[\\\]^_`{|}~']/g;
export const stripPunctuation = (s: string): string => s.replace(PUNCTUATION, "");

/** The whitespace of tf.strings.split (C's isspace): space, \t, \n, \v, \f, \r. */
const WHITESPACE = /[ \t\n\v\f\r]+/;
export const splitWhitespace = (s: string): string[] => s.split(WHITESPACE).filter((t) => t.length > 0);
export const splitCharacters = (s: string): string[] => Array.from(s);

export function standardizeText(fn: string, standardize: Standardize | null, s: string): string {
  if (standardize === null) return s;
  if (typeof standardize === "function") {
    const r = callUser("`standardize`", () => standardize(s));
    if (typeof r !== "string")
      throw new KerasError(
        fn,
        `\`standardize\` must return a string, got ${describeValue(r)} for ${JSON.stringify(s)}`,
      );
    return r;
  }
  const lowered = standardize === "strip_punctuation" ? s : lowerAscii(s);
  return standardize === "lower" ? lowered : stripPunctuation(lowered);
}

/** The tokens of one standardised string; with `split` = NULL the string itself. */
export function splitText(fn: string, split: Split | null, s: string): string[] {
  if (split === null) return [s];
  if (split === "whitespace") return splitWhitespace(s);
  if (split === "character") return splitCharacters(s);
  const r = callUser("`split`", () => split(s));
  if (!Array.isArray(r) || !r.every((t) => typeof t === "string"))
    throw new KerasError(
      fn,
      `\`split\` must return an array of strings, got ${describeValue(r)} for ${JSON.stringify(s)}`,
    );
  return [...r];
}

/** The n-grams of `tokens` for each width in turn (a width longer than the row gives none). */
export function ngramsOf(tokens: readonly string[], widths: readonly number[]): string[] {
  const out: string[] = [];
  for (const n of widths) for (let i = 0; i + n <= tokens.length; i++) out.push(tokens.slice(i, i + n).join(" "));
  return out;
}
