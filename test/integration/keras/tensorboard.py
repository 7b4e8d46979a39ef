"""Keras 3 oracle for test/integration/keras/tensorboard.test.ts (argv[1]: cases JSON, argv[2]: answer JSON).

For each case: trains the same model as the test (same names, initial weights, data, SGD, no shuffling)
with keras.callbacks.TensorBoard into `keras_dir`, then reads both that folder and the test's
`ours_dir` with TensorBoard's own EventAccumulator (and TensorFlow's TFRecord reader, which checks the
CRCs). The `keras` graph summary is turned into TensorBoard's graph with the graph plugin's
keras_model_to_graph_def, as the Graphs tab does.
"""

import json
import os
import sys

import keras
import numpy as np
import tensorflow as tf
from tensorboard.backend.event_processing import event_accumulator as ea
from tensorboard.plugins.graph import keras_util

inp = json.load(open(sys.argv[1]))
arr = lambda v: np.array(v, dtype="float32")


def build(kind):
    Dense = keras.layers.Dense
    if kind == "conv":
        return keras.Sequential(
            [
                keras.Input((6, 2)),
                keras.layers.Conv1D(2, 3, name="conv"),
                keras.layers.Flatten(name="flat"),
                Dense(1, name="out"),
            ],
            name="conv_seq",
        )
    if kind == "sequential":
        return keras.Sequential(
            [keras.Input((3,), name="input_layer"), Dense(2, activation="relu", name="hidden"), Dense(1, name="out")],
            name="seq",
        )
    a = keras.Input((3,), name="in_a")
    b = keras.Input((2,), name="in_b")
    h = Dense(2, activation="relu", name="hidden")(a)
    c = keras.layers.Concatenate(name="concat")([h, b])
    return keras.Model([a, b], Dense(1, name="out")(c), name="func")


def read(folder):
    out = {"files": {}, "records": {}, "events": [], "graph": None}
    for run in ("train", "validation"):
        d = os.path.join(folder, run)
        if not os.path.isdir(d):
            continue
        files = sorted(os.listdir(d))
        out["files"][run] = files
        out["records"][run] = sum(sum(1 for _ in tf.compat.v1.train.summary_iterator(os.path.join(d, f))) for f in files)
        acc = ea.EventAccumulator(d, size_guidance={ea.TENSORS: 0})
        acc.Reload()
        for tag in acc.Tags()["tensors"]:
            plugin = acc.SummaryMetadata(tag).plugin_data.plugin_name
            for ev in acc.Tensors(tag):
                value = tf.make_ndarray(ev.tensor_proto)
                if plugin == "graph_keras_model":
                    graph = keras_util.keras_model_to_graph_def(json.loads(value.item().decode()))
                    out["graph"] = [
                        {"name": n.name, "inputs": list(n.input), "class": n.attr["keras_class"].s.decode()}
                        for n in graph.node
                    ]
                    value = None
                elif plugin == "images":
                    value = [value[0].decode(), value[1].decode()] + [
                        tf.io.decode_png(png).numpy().tolist() for png in value[2:]
                    ]
                else:
                    value = value.tolist()
                out["events"].append({"run": run, "tag": tag, "step": int(ev.step), "plugin": plugin, "value": value})
    return out


answers = []
for case in inp:
    keras.utils.clear_session()
    model = build(case["kind"])
    model.set_weights([arr(w) for w in case["weights"]])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", metrics=["mae"])
    x = [arr(v) for v in case["x"]] if case["kind"] == "functional" else arr(case["x"])
    y = arr(case["y"])
    cb = keras.callbacks.TensorBoard(case["keras_dir"], **case["args"])
    model.fit(x, y, batch_size=4, epochs=3, validation_split=0.2, shuffle=False, verbose=0, callbacks=[cb])
    if case.get("evaluate_dir"):
        model.evaluate(x, y, batch_size=4, verbose=0, callbacks=[keras.callbacks.TensorBoard(case["evaluate_keras_dir"])])
    answers.append(
        {
            "keras": read(case["keras_dir"]),
            "ours": read(case["ours_dir"]),
            "keras_evaluate": read(case["evaluate_keras_dir"]) if case.get("evaluate_dir") else None,
            "ours_evaluate": read(case["evaluate_dir"]) if case.get("evaluate_dir") else None,
        }
    )

json.dump(answers, open(sys.argv[2], "w"))
