/**
 * Training the same model here and in Keras (the suites under test/integration/keras/): both start from the
 * pattern weights, train on the same data with one batch per epoch and no shuffling, and are compared
 * weight by weight and loss by loss.
 */
import { expect } from "chai";
import { compile, fit, get_weights, optimizer_adam, optimizer_sgd } from "../../src/index.js";
import type { Model } from "../../src/model/model.js";
import { withPatternWeights } from "../core/helpers.js";
import { expectClose } from "../wrappers/helpers.js";

/** An optimizer as sent to Keras (the Python side builds the same one). */
export interface OptimizerCase {
  class_name: "Adam" | "SGD";
  learning_rate: number;
  momentum?: number;
}

export const optimizerOf = (o: OptimizerCase) =>
  o.class_name === "Adam"
    ? optimizer_adam({ learning_rate: o.learning_rate })
    : optimizer_sgd({ learning_rate: o.learning_rate, momentum: o.momentum });

/** A model with pattern weights and its training data, as sent to Keras. */
export function trainingCase(model: Model, optimizer: OptimizerCase, steps: number, x: any, y: any) {
  return { weights: get_weights(withPatternWeights(model)), optimizer, steps, x, y };
}

/** Trains `model` as Keras did (pattern weights, one batch per epoch, no shuffling). */
export async function trainHere(model: Model, c: ReturnType<typeof trainingCase>, loss: unknown = "mse") {
  const compiled = compile(withPatternWeights(model), { optimizer: optimizerOf(c.optimizer), loss: loss as any });
  const { model: trained, history } = await fit(compiled, c.x, c.y, {
    epochs: c.steps,
    batch_size: c.x.length,
    shuffle: false,
    verbose: 0,
  });
  return { weights: get_weights(trained), losses: history.metrics.loss };
}

/** The same weights after training and the same loss per step, within `tol`. */
export function expectSameTraining(
  here: { weights: any[]; losses: readonly number[] },
  keras: { weights: any[]; losses: number[] },
  tol = 1e-5,
) {
  expect(here.weights.length, "number of weight arrays").to.equal(keras.weights.length);
  keras.weights.forEach((w, i) => expectClose(here.weights[i], w, tol, `weight ${i} after training`));
  expectClose(here.losses, keras.losses, tol, "loss per step");
}
