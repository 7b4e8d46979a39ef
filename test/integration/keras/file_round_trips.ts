/**
 * What the Keras file tests share (keras_files.test.ts for .keras, legacy_h5.test.ts for .h5): predicting
 * on a case's inputs, and the resume cases — a compiled GRU model with fixed weights, its data, and the
 * optimizers whose state must carry over, fitted here and resumed in Keras and the other way round.
 */
import { expect } from "chai";
import { pipe } from "fp-ts/lib/function.js";
import { expectClose } from "../../training/helpers.js";
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

type TwoEpochs = Map<string, { weights: unknown[]; loss: number }>;

/**
 * The resume cases fitted here, one per optimizer: one epoch, handed to `save` (which writes the file
 * Keras resumes and returns its path), and two epochs without stopping (what Keras's resume must give).
 */
export async function resumeCasesHere(
  optimizers: Record<string, () => ReturnType<typeof k.optimizer_adam>>,
  save: (name: string, once: Model) => Promise<string>,
): Promise<{ twoEpochs: TwoEpochs; resumeOurs: unknown[] }> {
  const twoEpochs: TwoEpochs = new Map();
  const resumeOurs: unknown[] = [];
  for (const [name, optimizer] of Object.entries(optimizers)) {
    const model = resumeModel(optimizer());
    const once = (await k.fit(model, resumeData.x, resumeData.y, resumeFitArgs)).model;
    const twice = await k.fit(model, resumeData.x, resumeData.y, { ...resumeFitArgs, epochs: 2 });
    twoEpochs.set(name, { weights: k.get_weights(twice.model), loss: twice.history.metrics.loss[1] });
    resumeOurs.push({ name, file: await save(name, once), ...resumeData });
  }
  return { twoEpochs, resumeOurs };
}

/** Keras's answer for `resumeCasesHere`'s files (one more epoch there) = two epochs here. */
export function expectResumedInKeras(resumed: Record<string, any>, twoEpochs: TwoEpochs): void {
  for (const [name, want] of twoEpochs) {
    const got = resumed[name];
    expect(got.iterations, `${name}: iterations`).to.equal(4);
    expectClose(got.weights, want.weights, 1e-5, `${name}: weights`);
    expect(got.loss, `${name}: loss`).to.be.closeTo(want.loss, 1e-5);
  }
}

/** Keras's one-epoch files resumed here for one epoch = Keras's two epochs (weights, loss, mae). */
export async function expectResumedHere(resumeKeras: Record<string, any>): Promise<void> {
  for (const [name, want] of Object.entries(resumeKeras)) {
    const resumed = await k.fit(await k.load_model(want.file), resumeData.x, resumeData.y, resumeFitArgs);
    expectClose(k.get_weights(resumed.model), want.weights, 1e-5, `${name}: weights`);
    expect(resumed.history.metrics.loss[0], `${name}: loss`).to.be.closeTo(want.loss, 1e-5);
    expect(resumed.history.metrics.mae[0], `${name}: mae`).to.be.closeTo(want.mae, 1e-5);
  }
}
