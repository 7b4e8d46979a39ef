"""Keras 3 oracle for test/integration/keras/custom_layers.test.ts (argv[1]: cases JSON, argv[2]: answer JSON).

The Python classes below are the equivalents of the test's new_layer_class() layers. Every model gets the
weights the test sends (set_weights) and trains with batch = all samples, shuffle off, eagerly.
"""

import json
import os
import sys

import keras
import numpy as np
import tensorflow as tf
from keras import ops

inp = json.load(open(sys.argv[1]))
arr = lambda v: np.array(v, dtype="float32")
lists = lambda ws: [np.asarray(w).tolist() for w in ws]


class ScaledDense(keras.layers.Layer):
    """tanh(x . kernel * scale + bias) + offset; offset is declared first but is not trainable."""

    def __init__(self, units=4, scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.scale = scale

    def build(self, input_shape):
        self.offset = self.add_weight(name="offset", shape=(self.units,), initializer="ones", trainable=False)
        self.kernel = self.add_weight(
            name="kernel",
            shape=(input_shape[-1], self.units),
            initializer="glorot_uniform",
            regularizer=keras.regularizers.L2(0.01),
        )
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")

    def call(self, x):
        return ops.tanh(ops.matmul(x, self.kernel) * self.scale + self.bias) + self.offset

    def get_config(self):
        return {**super().get_config(), "units": self.units, "scale": self.scale}


class MaskedMean(keras.layers.Layer):
    """The mean over the unmasked timesteps, times a learnable per-feature gain; consumes the mask."""

    def build(self, input_shape):
        self.gain = self.add_weight(name="gain", shape=(input_shape[-1],), initializer="ones")

    def call(self, x, mask=None):
        if mask is None:
            return ops.mean(x, axis=1) * self.gain
        m = ops.expand_dims(ops.cast(mask, x.dtype), -1)
        return ops.sum(x * m, axis=1) / ops.maximum(ops.sum(m, axis=1), 1.0) * self.gain

    def compute_mask(self, x, mask=None):
        return None


class FlatCell(keras.layers.Layer):
    """A cell over (batch, h, w) steps: h' = tanh(flatten(x) . kernel + h . recurrent_kernel); starts at 0.5."""

    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(int(np.prod(input_shape[1:])), self.units))
        self.recurrent_kernel = self.add_weight(name="recurrent_kernel", shape=(self.units, self.units))

    def call(self, x, states):
        flat = ops.reshape(x, (ops.shape(x)[0], -1))
        h = ops.tanh(ops.matmul(flat, self.kernel) + ops.matmul(states[0], self.recurrent_kernel))
        return h, [h]

    def get_initial_state(self, batch_size=None):
        return [ops.ones((batch_size, self.units)) * 0.5]


CUSTOM = {"ScaledDense": ScaledDense, "MaskedMean": MaskedMean}


def optimizer(o):
    if o["class_name"] == "Adam":
        return keras.optimizers.Adam(learning_rate=o["learning_rate"])
    return keras.optimizers.SGD(learning_rate=o["learning_rate"])


def dense_model():
    return keras.Sequential([keras.Input((3,)), ScaledDense(2, 0.5), keras.layers.Dense(1)])


def masked_model():
    tokens = keras.Input((5,), dtype="int32")
    h = keras.layers.Embedding(6, 3, mask_zero=True)(tokens)
    return keras.Model(tokens, keras.layers.Dense(1)(MaskedMean()(h)))


def train(model, case):
    model.set_weights([arr(w) for w in case["weights"]])
    model.compile(optimizer=optimizer(case["optimizer"]), loss="mse", run_eagerly=True)
    x, y = np.array(case["x"]), arr(case["y"])
    h = model.fit(x, y, batch_size=len(x), epochs=case["steps"], shuffle=False, verbose=0)
    return {"weights": lists(model.get_weights()), "losses": h.history["loss"]}


def dense_case(c):
    model = dense_model()
    model.set_weights([arr(w) for w in c["weights"]])
    layer = model.layers[0]
    x, probe = tf.constant(arr(c["x"])), tf.constant(arr(c["probe"]))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        objective = tf.reduce_sum(y * probe)
    grads = tape.gradient(objective, [x, layer.kernel.value, layer.bias.value])
    return {
        "weight_names": [w.path.split("/")[-1] for w in model.weights],
        "layer_output": y.numpy().tolist(),
        "gradients": lists(grads),
        "penalty": float(sum(float(l) for l in model.losses)),
        "output": model.predict(arr(c["x"]), verbose=0).tolist(),
        "train": train(dense_model(), c["train"]),
    }


def masked_case(c):
    model = masked_model()
    model.set_weights([arr(w) for w in c["weights"]])
    return {
        "output": model.predict(np.array(c["x"]), verbose=0).tolist(),
        "train": train(masked_model(), c["train"]),
    }


def files_case(c):
    # tskeras's file, read by Keras given the Python classes.
    ours = keras.saving.load_model(c["ours"], custom_objects=CUSTOM)
    ours_output = ours.predict(arr(c["x"]), verbose=0).tolist()
    # The custom class wrapped by TimeDistributed.
    ours_td = keras.saving.load_model(c["ours_td"], custom_objects=CUSTOM)
    ours_td_output = ours_td.predict(arr(c["x_td"]), verbose=0).tolist()
    # A Keras file with both classes (a functional model), for tskeras to read.
    tokens = keras.Input((5,), dtype="int32")
    h = keras.layers.Embedding(6, 3, mask_zero=True)(tokens)
    out = ScaledDense(2, 0.25)(MaskedMean()(h))
    model = keras.Model(tokens, out)
    keras.utils.set_random_seed(7)
    model.set_weights([np.random.default_rng(3).normal(size=w.shape).astype("float32") for w in model.get_weights()])
    model.save(c["theirs"])
    return {
        "ours_output": ours_output,
        "ours_td_output": ours_td_output,
        "ours_weight_names": [w.path.split("/")[-1] for w in ours.weights],
        "theirs_output": model.predict(np.array(c["tokens"]), verbose=0).tolist(),
        "theirs_weights": lists(model.get_weights()),
    }


def cell_case(c):
    model = keras.Sequential(
        [keras.Input(c["input_shape"]), keras.layers.RNN(FlatCell(3), return_sequences=c["return_sequences"])]
    )
    model.set_weights([arr(w) for w in c["weights"]])
    x = tf.constant(arr(c["x"]))
    layer = model.layers[0]
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        objective = tf.reduce_sum(y * arr(c["probe"]))
    grads = tape.gradient(objective, [x] + [w.value for w in layer.weights])
    return {"output": y.numpy().tolist(), "gradients": lists(grads), "train": train(model, c["train"])}


def inner_model(kind):
    if kind == "sequential":
        return keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)])
    x = keras.Input((3,))
    h = keras.layers.Dense(4, activation="tanh")(x)
    return keras.Model(x, keras.layers.Add()([keras.layers.Dense(2)(h), keras.layers.Dense(2)(x)]))


def time_distributed_case(c):
    make = lambda: keras.Sequential([keras.Input((5, 3)), keras.layers.TimeDistributed(inner_model(c["kind"]))])
    model = make()
    model.set_weights([arr(w) for w in c["weights"]])
    x = arr(c["x"])
    # tskeras's .keras file and model_to_json() (the latter given the same weights), read by Keras.
    ours = keras.saving.load_model(c["ours_file"])
    from_json = keras.models.model_from_json(c["ours_json"])
    from_json.set_weights([arr(w) for w in c["weights"]])
    # Keras's file and JSON of the model with weights of its own, for tskeras to read.
    theirs = make()
    rng = np.random.default_rng(5)
    theirs.set_weights([rng.normal(size=w.shape).astype("float32") for w in theirs.get_weights()])
    theirs.save(c["theirs_file"])
    return {
        "output": model.predict(x, verbose=0).tolist(),
        "train": train(make(), c["train"]),
        "ours_file_output": ours.predict(x, verbose=0).tolist(),
        "ours_file_inner_class": type(ours.layers[0].layer).__name__,
        "ours_json_output": from_json.predict(x, verbose=0).tolist(),
        "theirs_output": theirs.predict(x, verbose=0).tolist(),
        "theirs_weights": lists(theirs.get_weights()),
        "theirs_json": theirs.to_json(),
    }


out = {
    "time_distributed": [time_distributed_case(c) for c in inp["time_distributed"]],
    "cells": [cell_case(c) for c in inp["cells"]],
    "dense": dense_case(inp["dense"]),
    "masked": masked_case(inp["masked"]),
    "files": files_case(inp["files"]),
}
json.dump(out, open(sys.argv[2], "w"))
