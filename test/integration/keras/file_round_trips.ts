/**
 * What the Keras file tests share (keras_files.test.ts for .keras, legacy_h5.test.ts for .h5): predicting
 * on a case's inputs, and the resume cases — a compiled GRU model with fixed weights, its data, and the
 * optimizers whose state must carry over.
 */
import { pipe } from "fp-ts/lib/function.js";
import * as k from "../../../src/index.js";
import type { Model } from "../../../src/model/model.js";

export const quiet = { verbose: 0 as const };

export const inputDtypes = (m: Model): string[] =>
  m.type === "sequential" ? [m.inputDtype] : m.inputs.map((i) => i.dtype);

export async function predictOn(model: Model, inputs: unknown[]): Promise<unknown> {
  return k.predict(model, inputs.length === 1 ? inputs[0] : inputs, {
    ...quiet,
    batch_size: (inputs[0] as unknown[]).length,
  });
}

/** Training data of the resume cases: 8 sequences of 4 steps, 3 features, 2 batches of 4. */
export const resumeData = {
  x: Array.from({ length: 8 }, (_, i) =>
    Array.from({ length: 4 }, (_, t) => [0, 1, 2].map((f) => Math.sin(i + 2 * t + 3 * f))),
  ),
  y: Array.from({ length: 8 }, (_, i) => [Math.cos(i)]),
  batch_size: 4,
};

export const RESUME_OPTIMIZERS: Record<string, () => ReturnType<typeof k.optimizer_adam>> = {
  adam: () => k.optimizer_adam({ learning_rate: 0.01, amsgrad: true }),
  sgd: () => k.optimizer_sgd({ learning_rate: 0.05, momentum: 0.9, nesterov: true }),
  rmsprop: () => k.optimizer_rmsprop({ learning_rate: 0.01, momentum: 0.5, centered: true }),
  adagrad: () => k.optimizer_adagrad({ learning_rate: 0.05 }),
  adadelta: () => k.optimizer_adadelta({ learning_rate: 1 }),
  adamax: () => k.optimizer_adamax({ learning_rate: 0.01 }),
  nadam: () => k.optimizer_nadam({ learning_rate: 0.01 }),
  adamw: () => k.optimizer_adamw({ learning_rate: 0.01 }),
  schedule: () =>
    k.optimizer_adam({
      learning_rate: k.learning_rate_schedule_exponential_decay({
        initial_learning_rate: 0.02,
        decay_steps: 3,
        decay_rate: 0.5,
      }),
    }),
  lion: () => k.optimizer_lion({ learning_rate: 0.01 }),
  lamb: () => k.optimizer_lamb({ learning_rate: 0.01 }),
  ftrl: () => k.optimizer_ftrl({ learning_rate: 0.1, l1_regularization_strength: 0.01 }),
  // GRU weights of rank 2 (factored r, c) and the Dense bias of rank 1 (scalar r, c)
  adafactor: () => k.optimizer_adafactor({ learning_rate: 0.01 }),
  polynomial_decay: () =>
    k.optimizer_sgd({
      learning_rate: k.learning_rate_schedule_polynomial_decay({ initial_learning_rate: 0.05, decay_steps: 3 }),
    }),
  cosine_decay_restarts: () =>
    k.optimizer_sgd({
      learning_rate: k.learning_rate_schedule_cosine_decay_restarts({ initial_learning_rate: 1, first_decay_steps: 2 }),
    }),
};

export const resumeFitArgs = { epochs: 1, batch_size: resumeData.batch_size, shuffle: false, ...quiet };

/** The resume cases' model: GRU(3) + Dense(1) on (4, 3), fixed weights, compiled with `optimizer`. */
export const resumeModel = (optimizer: ReturnType<typeof k.optimizer_adam>): Model =>
  k.set_weights(
    pipe(
      k.keras_model_sequential({ input_shape: [4, 3] }),
      k.layer_gru({ units: 3 }),
      k.layer_dense({ units: 1 }),
      k.compile({ optimizer, loss: "mse", metrics: ["mae"] }),
    ),
    [[3, 9], [3, 9], [2, 9], [3, 1], [1]].map((shape, i) => ({
      shape,
      values: Float32Array.from({ length: shape[0] * (shape[1] ?? 1) }, (_, j) => 0.4 * Math.sin(7 * i + j)),
    })),
  );
