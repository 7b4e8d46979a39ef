/**
 * Type tests of the public API, compiled by `npm test` (tsc) and never run: each `@ts-expect-error`
 * line must fail to compile, every other line must compile with the type it asserts. What a dual
 * function returns follows its first argument (a layer value, the same model type, a symbolic tensor
 * or a tensor); misspelled options and wrong types are compile errors; verbs return what they were given.
 */
import { pipe } from "fp-ts/lib/function.js";
import type { Tensor } from "../../src/backend/tf.js";
import {
  bidirectional,
  callback_csv_logger,
  callback_learning_rate_scheduler,
  compile,
  fit,
  freeze_weights,
  get_initial_state,
  keras_model,
  keras_model_sequential,
  layer_concatenate,
  layer_dense,
  layer_dropout,
  layer_flatten,
  layer_gru,
  layer_gru_cell,
  layer_input,
  layer_lstm,
  pop_layer,
  reset_state,
  set_weights,
  time_distributed,
  train_on_batch,
  unfreeze_weights,
  type FunctionalModel,
  type History,
  type Layer,
  type SequentialModel,
  type SymbolicTensor,
} from "../../src/index.js";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** `is<T>()(value)` compiles only when `value` has exactly type `T`. */
declare function is<Expected>(): <Actual>(
  actual: Actual,
  ...exact: Equal<Actual, Expected> extends true ? [] : [never]
) => void;

declare const data: number[][][];
declare const tensor: Tensor;
declare const flag: boolean;

export async function typeTests(): Promise<void> {
  // ---- Dual layer functions: the first argument decides the result.
  is<Layer<"one">>()(layer_dense({ units: 2 }));
  is<SequentialModel>()(layer_dense(keras_model_sequential({ input_shape: [3] }), { units: 2 }));
  const input = layer_input({ shape: [10, 4] });
  is<SymbolicTensor>()(layer_dense(input, { units: 2 }));
  is<Tensor>()(layer_dense(data, { units: 2 }));
  is<Tensor>()(layer_dense(tensor, { units: 2 }));
  is<Layer<"one">>()(layer_flatten());

  // ---- pipe with layer values infers the same types as the data-first calls.
  const model = pipe(
    keras_model_sequential({ input_shape: [10, 4] }),
    layer_gru({ units: 8, reset_after: true }),
    layer_dropout({ rate: 0.1 }),
    layer_dense({ units: 1 }),
  );
  is<SequentialModel>()(model);
  const out = pipe(input, layer_lstm({ units: 8 }), layer_dense({ units: 1 }));
  is<SymbolicTensor>()(out);
  is<FunctionalModel>()(keras_model({ inputs: input, outputs: out }));
  is<SymbolicTensor>()(layer_concatenate([input, input], { axis: -1 }));

  // ---- Recurrent layers: return_state = TRUE returns the output and the states.
  is<SymbolicTensor[]>()(layer_lstm(input, { units: 4, return_state: true }));
  is<SymbolicTensor>()(layer_lstm(input, { units: 4 }));
  is<Layer<"many">>()(layer_gru({ units: 4, return_state: true }));
  is<SymbolicTensor | SymbolicTensor[]>()(layer_gru(input, { units: 4, return_state: flag }));
  // A cell applied to data runs one step: [output, ...states].
  is<Tensor[]>()(layer_gru_cell([[1, 2]], { units: 3 }));

  // ---- Wrappers: R's call shape (the inner layer first) gives a layer value for pipe.
  // (Results held in constants first: as an argument of `is`, the generic result would be widened.)
  const concatenated = bidirectional(layer_lstm({ units: 4 }));
  is<Layer<"one">>()(concatenated);
  const both = bidirectional(layer_lstm({ units: 4 }), { merge_mode: null });
  is<Layer<"many">>()(both);
  is<SequentialModel>()(pipe(model, time_distributed(layer_dense({ units: 2 }))));
  const distributed = time_distributed(input, { layer: layer_dense({ units: 2 }) });
  is<SymbolicTensor>()(distributed);

  // ---- R's NULL means "not given" for the standard arguments.
  layer_dense({ units: 2, name: null, input_shape: null, batch_size: null, trainable: null, dtype: null });
  layer_lstm({ units: 2, unroll: null, return_sequences: null });

  // ---- Model verbs return the type they were given.
  const compiled = compile(model, { optimizer: "adam", loss: "mse" });
  is<SequentialModel>()(compiled);
  is<SequentialModel>()(pipe(model, compile({ loss: "mse" })));
  const fitted = await fit(compiled, data, data, { epochs: 1 });
  is<{ model: SequentialModel; history: History }>()(fitted);
  is<SequentialModel>()(pop_layer(fitted.model));
  is<SequentialModel>()(freeze_weights(model, { from: 1 }));
  is<SequentialModel>()(unfreeze_weights(model));
  is<SequentialModel>()(set_weights(model, []));
  is<SequentialModel>()((await train_on_batch(model, data, data)).model);
  get_initial_state(layer_gru_cell({ units: 3 }), { inputs: data });
  is<SequentialModel>()(reset_state(model));

  // ---- Callbacks take a record like every other function (or R's first argument, then the record).
  callback_csv_logger({ filename: "log.csv", append: true });
  callback_csv_logger("log.csv", { separator: ";" });
  callback_learning_rate_scheduler({ schedule: (epoch, lr) => lr / (epoch + 1), verbose: 1 });
  callback_learning_rate_scheduler((_epoch, lr) => lr);

  // ---- Misspelled options and wrong types fail to compile.
  // @ts-expect-error: `unitz` is not an argument of layer_gru
  layer_gru({ unitz: 4 });
  // @ts-expect-error: reset_after is a boolean
  layer_gru({ units: 4, reset_after: "yes" });
  // @ts-expect-error: `units` is required
  layer_dense({ activation: "relu" });
  // @ts-expect-error: not an activation name
  layer_dense({ units: 2, activation: "relux" });
  // @ts-expect-error: a model is not a number
  const n: number = model;
  // @ts-expect-error: layers are appended to sequential models only
  layer_dense(keras_model({ inputs: input, outputs: out }), { units: 2 });
  // @ts-expect-error: pop_layer takes a sequential model
  pop_layer(keras_model({ inputs: input, outputs: out }));
  // @ts-expect-error: an unknown argument of get_initial_state
  get_initial_state(layer_gru_cell({ units: 3 }), { batch: 2 });
  // @ts-expect-error: callback_csv_logger's filename is required
  callback_csv_logger({ append: true });
  // @ts-expect-error: the schedule takes (epoch, lr) and returns the rate
  callback_learning_rate_scheduler({ schedule: (_epoch: number, _lr: number) => "fast" });
  // @ts-expect-error: merge_mode is one of "concat", "sum", "ave", "mul" or NULL
  bidirectional(layer_lstm({ units: 4 }), { merge_mode: "max" });
  void n;
}
