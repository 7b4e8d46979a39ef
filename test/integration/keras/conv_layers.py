"""Keras 3 oracle for test/integration/keras/conv_layers.test.ts (argv[1]: cases JSON, argv[2]: answer JSON).

Each case is one layer (class name and the same arguments tskeras takes) in a sequential model with the
test's weights. Answers: the output, the gradients of sum(output * probe) w.r.t. the input and every
trainable weight, one SGD step (mse, batch = all samples), and predictions of the tskeras-written
.keras file loaded here; Keras also saves each model, for the test to load.
"""

import json
import os
import sys

import keras
import numpy as np
import tensorflow as tf

inp = json.load(open(sys.argv[1]))
arr = lambda v: np.array(v, dtype="float32")
lists = lambda ws: [np.asarray(w).tolist() for w in ws]


def model_of(c, twin=False):
    """The case's model; `twin`: the channels_last layer between two Permute layers (TensorFlow's CPU
    kernels lack some channels_first convolutions), the same function of the same weights."""
    if not twin:
        layer = getattr(keras.layers, c["class_name"])(**c["config"])
        layers = [layer]
    else:
        layer = getattr(keras.layers, c["class_name"])(**{**c["config"], "data_format": "channels_last"})
        r = len(c["input_shape"])
        layers = [keras.layers.Permute([*range(2, r + 1), 1]), layer]
        if len(layer.compute_output_shape((None, *c["input_shape"][1:], c["input_shape"][0]))) == r + 1:
            layers.append(keras.layers.Permute([r, *range(1, r)]))
    model = keras.Sequential([keras.Input(c["input_shape"]), *layers])
    model.set_weights([arr(w) for w in c["weights"]])
    return model, layer


def answer(c, twin):
    model, layer = model_of(c, twin)
    x, probe = tf.constant(arr(c["x"])), tf.constant(arr(c["probe"]))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = model(x)
        objective = tf.reduce_sum(y * probe)
    grads = tape.gradient(objective, [x, *layer.trainable_weights])
    out = {"output": y.numpy().tolist(), "gradients": lists(grads)}
    if layer.trainable_weights:
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse", run_eagerly=True)
        h = model.fit(arr(c["x"]), arr(c["probe"]), batch_size=len(c["x"]), epochs=1, shuffle=False, verbose=0)
        out["train"] = {"weights": lists(model.get_weights()), "losses": h.history["loss"]}
    return out


def case(c):
    """Keras's numbers. A channels_first layer is also run as its channels_last twin: when TensorFlow's
    CPU kernels cannot run it (`keras_failed`) or its numbers differ from the twin's (`keras_differs`),
    the twin's answer is given."""
    if c["config"].get("data_format") != "channels_first":
        out = answer(c, twin=False)
        out["keras_failed"] = out["keras_differs"] = False
    else:
        out = answer(c, twin=True)
        try:
            direct = answer(c, twin=False)
            out["keras_failed"] = False
            out["keras_differs"] = bool(np.abs(arr(direct["output"]) - arr(out["output"])).max() > 1e-5)
        except tf.errors.InvalidArgumentError:
            out["keras_failed"], out["keras_differs"] = True, False
    _, layer = model_of(c)
    out["config"] = layer.get_config()
    # tskeras's file: Keras loads it (and predicts, where it can and agrees with its twin)
    ours = keras.saving.load_model(c["file"])
    out["file_config"] = ours.layers[-1].get_config()
    trusted = not (out["keras_failed"] or out["keras_differs"])
    out["file_predictions"] = np.asarray(ours(arr(c["x"]))).tolist() if trusted else None
    # Keras's own file, for the test to load
    model_of(c)[0].save(c["keras_file"])
    return out


json.dump([case(c) for c in inp["cases"]], open(sys.argv[2], "w"))
