"""Keras 3 oracle for test/integration/keras/training.test.ts (argv[1]: cases JSON, argv[2]: answer JSON).

Every model gets the initial weights the test sends (set_weights) and trains on the test's data with
batch = all samples and shuffle off, so epoch k's loss is step k's loss. Eager execution: the plain
train_step, no XLA fusion.
"""

import json
import sys

import keras
import numpy as np
import tensorflow as tf

inp = json.load(open(sys.argv[1]))
arr = lambda v: np.array(v, dtype="float32")
lists = lambda ws: [np.asarray(w).tolist() for w in ws]


def optimizer(o):
    if o["class_name"] == "Adam":
        return keras.optimizers.Adam(learning_rate=o["learning_rate"])
    return keras.optimizers.SGD(learning_rate=o["learning_rate"], momentum=float(o["momentum"]))


def recurrent(kind, units):
    return {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[kind](units)


def cell(kind, units):
    return {"lstm": keras.layers.LSTMCell, "gru": keras.layers.GRUCell}[kind](units)


def train(model, case, loss="mse"):
    model.set_weights([arr(w) for w in case["weights"]])
    model.compile(optimizer=optimizer(case["optimizer"]), loss=loss, run_eagerly=True)
    x, y = arr(case["x"]), arr(case["y"])
    h = model.fit(x, y, batch_size=len(x), epochs=case["steps"], shuffle=False, verbose=0)
    return {"weights": lists(model.get_weights()), "losses": h.history["loss"]}


def wrapper_case(c):
    if c["kind"] == "bidirectional":
        rnn = keras.layers.Bidirectional(recurrent(c["layer"], c["units"][0]), merge_mode=c["merge_mode"])
    else:
        rnn = keras.layers.RNN(keras.layers.StackedRNNCells([cell(k, u) for k, u in zip(c["cells"], c["units"])]))
    model = keras.Sequential([keras.Input(c["input_shape"]), rnn, keras.layers.Dense(1)])
    return train(model, c)


def head_case(c):
    model = keras.Sequential(
        [
            keras.Input(c["input_shape"]),
            recurrent(c["layer"], c["units"]),
            keras.layers.Dense(c["dense"], activation=c["activation"]),
        ]
    )
    return train(model, c, loss=c["loss"])


CONV_LSTM = {1: keras.layers.ConvLSTM1D, 2: keras.layers.ConvLSTM2D}


def conv_lstm_case(c):
    layer = CONV_LSTM[c["rank"]](**c["config"])
    model = keras.Sequential([keras.Input(c["input_shape"]), layer])
    model.set_weights([arr(w) for w in c["weights"]])
    x, probe = tf.constant(arr(c["x"])), tf.constant(arr(c["probe"]))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        objective = tf.reduce_sum(y * probe)
    grads = tape.gradient(objective, [x, *layer.trainable_weights])
    out = {"output": y.numpy().tolist(), "gradients": lists(grads)}
    out["train"] = train(model, c)
    return out


def huber_case(h):
    y_true, y_pred = tf.constant(arr(h["y_true"])), tf.constant(arr(h["y_pred"]))
    out = {}
    for delta in h["deltas"]:
        with tf.GradientTape() as tape:
            tape.watch(y_pred)
            per_sample = keras.losses.huber(y_true, y_pred, delta=delta)
            mean = tf.reduce_mean(per_sample)
        out[str(delta)] = {
            "per_sample": per_sample.numpy().tolist(),
            "gradient": tape.gradient(mean, y_pred).numpy().tolist(),
        }
        t = h["train"]
        model = keras.Sequential([keras.Input([len(t["x"][0])]), keras.layers.Dense(len(t["y"][0]))])
        out[str(delta)]["train"] = train(model, t, loss=keras.losses.Huber(delta=delta))
    return out


def softmax_case(s):
    x = arr(s["x"])
    return {
        str(axis): {
            "softmax": np.asarray(keras.activations.softmax(x, axis=axis)).tolist(),
            "log_softmax": np.asarray(keras.activations.log_softmax(x, axis=axis)).tolist(),
            # TF's softmax_cross_entropy_with_logits fails on negative axes other than -1: the same axis, counted
            # from the front.
            "crossentropy": np.asarray(
                keras.losses.categorical_crossentropy(
                    arr(s["labels"][str(axis)]), x, from_logits=True, axis=axis if axis == -1 else axis % x.ndim
                )
            ).tolist(),
        }
        for axis in s["axes"]
    }


answer = {
    "wrappers": [wrapper_case(c) for c in inp["wrappers"]],
    "conv_lstm": [conv_lstm_case(c) for c in inp["conv_lstm"]],
    "heads": [head_case(c) for c in inp["heads"]],
    "huber": huber_case(inp["huber"]),
    "softmax": softmax_case(inp["softmax"]),
}
json.dump(answer, open(sys.argv[2], "w"))
