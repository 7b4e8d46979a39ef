/** The data utilities: R keras's names, Keras's semantics. */
export { pad_sequences, to_categorical, normalize } from "./sequences.js";
export {
  timeseries_dataset_from_array,
  timeseries_generator,
  type TimeseriesBatches,
  type TimeseriesBatch,
} from "./timeseries.js";
export type { ArrayValue, ArrayInput, ArrayDType, TypedArray } from "./arrays.js";
export {
  text_tokenizer,
  fit_text_tokenizer,
  texts_to_sequences,
  texts_to_matrix,
  sequences_to_matrix,
  type TextTokenizer,
} from "./text.js";
export {
  dataset_mnist,
  dataset_fashion_mnist,
  dataset_imdb,
  dataset_imdb_word_index,
  dataset_reuters,
  dataset_reuters_word_index,
  dataset_boston_housing,
  type Dataset,
} from "./datasets.js";
