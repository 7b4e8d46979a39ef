"""Keras 3 oracle for test/integration/keras/losses_metrics_optimizers.test.ts (argv[1]: cases JSON, argv[2]: answer).

Every section answers the cases the test sends, computed by real Keras (TensorFlow backend, eager):
losses (per-sample values and the gradient w.r.t. y_pred), CTC loss and gradient, ctc_decode, one
training step per new loss, stateful metrics over batches and after reset_state, evaluate() over
batches, optimizers over three steps, learning-rate schedules, and .keras files both ways.
"""

import json
import os
import sys

import keras
import numpy as np
import tensorflow as tf

inp = json.load(open(sys.argv[1]))
arr = lambda v: np.array(v, dtype="float32")
tolist = lambda v: np.asarray(v).tolist()
lists = lambda ws: [np.asarray(w).tolist() for w in ws]

# Python floats, as R's numbers are (FBetaScore insists on them; a schedule computes in its initial
# rate's dtype).
FLOAT_ARGS = {"beta", "threshold", "alpha", "gamma", "label_smoothing", "recall", "precision"}
FLOAT_ARGS |= {"initial_learning_rate", "end_learning_rate", "power", "t_mul", "m_mul"}


def kwargs(args):
    out = {}
    for k, v in (args or {}).items():
        if isinstance(v, dict) and "schedule" in v:
            v = getattr(keras.optimizers.schedules, v["schedule"])(**kwargs(v["args"]))
        elif k in FLOAT_ARGS and isinstance(v, (int, float)) and not isinstance(v, bool):
            v = float(v)
        out[k] = v
    return out


def loss_case(c):
    loss = getattr(keras.losses, c["class"])(reduction=None, **kwargs(c["args"]))
    y_true, y_pred = tf.constant(arr(c["y_true"])), tf.constant(arr(c["y_pred"]))
    with tf.GradientTape() as tape:
        tape.watch(y_pred)
        values = loss(y_true, y_pred)
        objective = tf.reduce_sum(values * arr(c["probe"]))
    return {"values": tolist(values), "gradient": tolist(tape.gradient(objective, y_pred))}


def decode_case(c):
    try:
        decoded, scores = keras.ops.ctc_decode(arr(c["inputs"]), np.array(c["lengths"], "int32"), **kwargs(c["args"]))
        return {"decoded": tolist(decoded), "scores": tolist(scores)}
    except Exception as e:  # noqa: BLE001 - the test checks that both sides refuse
        return {"error": str(e)[:200]}


def model_of(m):
    inputs = keras.Input(m["input_shape"])
    h = inputs
    for units, activation in m["layers"]:
        h = keras.layers.Dense(units, activation=activation)(h)
    return keras.Model(inputs, h)


def train(c, loss, optimizer):
    model = model_of(c["model"])
    model.set_weights([arr(w) for w in c["weights"]])
    model.compile(optimizer=optimizer, loss=loss, run_eagerly=True)
    x, y = arr(c["x"]), arr(c["y"])
    h = model.fit(x, y, batch_size=len(x), epochs=c["steps"], shuffle=False, verbose=0)
    return {"weights": lists(model.get_weights()), "losses": h.history["loss"]}


def loss_training_case(c):
    loss = getattr(keras.losses, c["class"])(**kwargs(c["args"]))
    return train(c, loss, keras.optimizers.SGD(c["learning_rate"]))


def optimizer_case(c):
    return train(c, "mse", getattr(keras.optimizers, c["class"])(**kwargs(c["args"])))


def metric_case(c):
    metric = getattr(keras.metrics, c["class"])(**kwargs(c["args"]))
    values_only = c["class"] in ("Mean", "Sum")

    def update(b):
        sw = None if b.get("sample_weight") is None else arr(b["sample_weight"])
        if values_only:
            metric.update_state(arr(b["values"]), sample_weight=sw)
        else:
            metric.update_state(arr(b["y_true"]), arr(b["y_pred"]), sample_weight=sw)
        return tolist(metric.result())

    results = [update(b) for b in c["batches"]]
    metric.reset_state()
    return {"results": results, "after_reset": update(c["after_reset"])}


def max_error(y_true, y_pred):
    return keras.ops.max(keras.ops.abs(y_pred - y_true), axis=-1)


CUSTOM = {"max_error": max_error}


def metric_object(m):
    if isinstance(m, str):
        return CUSTOM.get(m, m)
    return getattr(keras.metrics, m["class"])(**kwargs(m["args"]))


def evaluate_case(c):
    keras.backend.clear_session()  # metric names without the counters of earlier metrics ("io_u_3")
    model = model_of(c["model"])
    model.set_weights([arr(w) for w in c["weights"]])
    model.compile(loss=c["loss"], metrics=[metric_object(m) for m in c["metrics"]])
    logs = model.evaluate(
        arr(c["x"]), arr(c["y"]), sample_weight=arr(c["sample_weight"]), batch_size=c["batch_size"], verbose=0,
        return_dict=True,
    )
    return {k: tolist(v) for k, v in logs.items()}


def schedule_case(c):
    s = getattr(keras.optimizers.schedules, c["class"])(**kwargs(c["args"]))
    return [float(s(step)) for step in c["steps"]]


# ---------------------------------------------------------------------------------------------
# .keras files both ways: Keras evaluates tskeras's compiled files; tskeras loads Keras's.


def files_section(f):
    out = {"ours": {}, "keras": {}}
    for case in f["ours"]:
        keras.backend.clear_session()
        model = keras.saving.load_model(case["file"])
        x, y = arrays_of(case["x"]), arrays_of(case["y"])
        logs = model.evaluate(x, y, batch_size=case["batch_size"], verbose=0, return_dict=True)
        out["ours"][case["name"]] = {
            "optimizer": type(model.optimizer).__name__,
            "optimizer_config": {k: v for k, v in model.optimizer.get_config().items() if k != "learning_rate"},
            "schedule": type(model.optimizer._learning_rate).__name__,
            "schedule_values": [float(model.optimizer._learning_rate(s)) for s in case["steps"]]
            if callable(model.optimizer._learning_rate)
            else None,
            "losses": [type(l).__name__ for l in keras.tree.flatten(model.loss)],
            "logs": {k: tolist(v) for k, v in logs.items()},
        }
    for case in f["keras"]:
        keras.backend.clear_session()
        model = keras.saving.load_model(case["template"])  # the same architecture and weights
        model.compile(
            optimizer=getattr(keras.optimizers, case["optimizer"]["class"])(**kwargs(case["optimizer"]["args"])),
            loss=[getattr(keras.losses, l["class"])(**kwargs(l["args"])) for l in case["losses"]]
            if len(case["losses"]) > 1
            else getattr(keras.losses, case["losses"][0]["class"])(**kwargs(case["losses"][0]["args"])),
            metrics=[metric_object(m) for m in case["metrics"]] if case["metrics"] else None,
        )
        x, y = arrays_of(case["x"]), arrays_of(case["y"])
        model.fit(x, y, epochs=1, batch_size=case["batch_size"], shuffle=False, verbose=0)
        path = os.path.join(f["dir"], f"k_{case['name']}.keras")
        model.save(path)
        logs = model.evaluate(x, y, batch_size=case["batch_size"], verbose=0, return_dict=True)
        out["keras"][case["name"]] = {"file": path, "logs": {k: tolist(v) for k, v in logs.items()}}
    return out


def arrays_of(v):
    """One array, or several ({"list": [...]}) for a model of several inputs or outputs."""
    return [arr(x) for x in v["list"]] if isinstance(v, dict) else arr(v)


answer = {
    "losses": [loss_case(c) for c in inp["losses"]],
    "ctc": [loss_case(c) for c in inp["ctc"]],
    "decode": [decode_case(c) for c in inp["decode"]],
    "loss_training": [loss_training_case(c) for c in inp["loss_training"]],
    "metrics": [metric_case(c) for c in inp["metrics"]],
    "evaluate": [evaluate_case(c) for c in inp["evaluate"]],
    "optimizers": [optimizer_case(c) for c in inp["optimizers"]],
    "schedules": [schedule_case(c) for c in inp["schedules"]],
    "files": files_section(inp["files"]),
}
json.dump(answer, open(sys.argv[2], "w"))
