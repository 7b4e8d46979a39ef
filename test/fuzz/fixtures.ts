/**
 * The valid values the fuzz cases start from: small models, data, a history, cells and layers. Built
 * once per process (the child process builds its own).
 */
import * as api from "../../src/index.js";
import { tf } from "../../src/backend/tf.js";

const seq = (n: number, t: number, f: number, phase = 0) =>
  Array.from({ length: n }, (_, i) =>
    Array.from({ length: t }, (_, j) => Array.from({ length: f }, (_, k) => Math.sin(1.3 * i + 0.7 * j + k + phase))),
  );
const mat = (n: number, f: number, phase = 0) =>
  Array.from({ length: n }, (_, i) => Array.from({ length: f }, (_, k) => Math.cos(0.9 * i + 0.4 * k + phase)));

export async function makeFixtures() {
  await api.backend_ready();
  const quiet = { verbose: 0 as const };
  /** Sequences (4 samples, 3 steps, 2 features) → one number. */
  const gruModel = api.compile(
    api.layer_dense(api.layer_gru(api.keras_model_sequential({ input_shape: [3, 2] }), { units: 2 }), { units: 1 }),
    { optimizer: "sgd", loss: "mse", metrics: ["mae"] },
  );
  /** Vectors (4 features) → 3 classes (softmax), sparse labels. */
  const classifier = api.compile(
    api.layer_dense(api.keras_model_sequential({ input_shape: [4] }), { units: 3, activation: "softmax" }),
    { optimizer: "adam", loss: "sparse_categorical_crossentropy", metrics: ["accuracy"] },
  );
  /** Two inputs (named "a", "b") → one output. */
  const a = api.layer_input({ shape: [2], name: "a" });
  const b = api.layer_input({ shape: [2], name: "b" });
  const twoInputs = api.compile(
    api.keras_model({ inputs: [a, b], outputs: api.layer_dense(api.layer_add([a, b]), { units: 1 }) }),
    { optimizer: "sgd", loss: "mse" },
  );
  const statefulModel = api.keras_model_sequential({ batch_input_shape: [2, 3, 2] });
  const stateful = api.layer_gru(statefulModel, { units: 2, stateful: true });
  const x3 = seq(4, 3, 2);
  const y1 = mat(4, 1);
  const x4 = mat(4, 4);
  const labels = [[0], [1], [2], [1]];
  const onehot = labels.map(([c]) => [0, 1, 2].map((k) => (k === c ? 1 : 0)));
  const { history } = await api.fit(gruModel, x3, y1, { epochs: 2, ...quiet, validation_split: 0.25 });
  // A stateful layer used eagerly holds states reset_states can set.
  const eagerStateful = api.layer_gru({ units: 2, stateful: true });
  eagerStateful(seq(2, 3, 2));
  return {
    gruModel,
    classifier,
    twoInputs,
    statefulModel: stateful,
    eagerStateful,
    history,
    /** (4, 3, 2) sequences, (4, 1) targets, (4, 4) vectors, (4, 1) class labels in 0..2. */
    x3,
    y1,
    x4,
    labels,
    onehot,
    pair: [mat(4, 2), mat(4, 2, 1)],
    seq,
    mat,
    tf,
    api,
    quiet,
  };
}

export type Fixtures = Awaited<ReturnType<typeof makeFixtures>>;
