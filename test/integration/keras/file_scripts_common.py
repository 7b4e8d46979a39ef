"""What the Keras file scripts share (prepended to keras_files.py and legacy_h5.py by their tests): inputs
from JSON, outputs to JSON, what h5py sees of a file, resuming tskeras's files, Keras's own cases and
resuming them. A script defines `save_case(name, model)` (its files of one case, as entry fields) and
`OPTIMIZERS` before it calls `keras_cases` and `resume_keras`."""
import os

import h5py
import keras
import numpy as np

L = keras.layers


def arrays(xs):
    return [np.asarray(x, dtype=d) for x, d in zip(xs["values"], xs["dtypes"])]


def tolist(y):
    if isinstance(y, (list, tuple)):
        return [np.asarray(v).tolist() for v in y]
    return np.asarray(y).tolist()


def call(model, xs):
    """The model on one batch, in inference mode (a direct call: no tf.function to trace per model)."""
    return model(xs if len(xs) > 1 else xs[0], training=False)


def describe(f, opaque=()):
    """What h5py sees: every object with its kind, shape, dtype, layout and attributes (value, dtype,
    shape, string info); the values of the attributes named in `opaque` are left out."""
    entries = {}

    def attrs(obj):
        out = {}
        for k in obj.attrs.keys():
            v = obj.attrs[k]
            tid = obj.attrs.get_id(k)
            info = h5py.check_string_dtype(tid.dtype)
            shown = None if k in opaque else str(v)
            out[k] = [shown, str(tid.dtype), list(tid.shape), None if info is None else [info.encoding, info.length]]
        return out

    entries["/"] = {"kind": "group", "attrs": attrs(f)}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            entries[name] = {
                "kind": "dataset",
                "shape": list(obj.shape),
                "dtype": str(obj.dtype),
                "chunks": obj.chunks,
                "compression": obj.compression,
                "attrs": attrs(obj),
            }
        else:
            entries[name] = {"kind": "group", "attrs": attrs(obj)}

    f.visititems(visit)
    return entries


def differing(a, b):
    """Datasets present in both whose values differ (bit for bit)."""
    out = []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and name in b:
            x, y = obj[()], b[name][()]
            if x.dtype != y.dtype or np.asarray(x).tobytes() != np.asarray(y).tobytes():
                out.append(name)

    a.visititems(visit)
    return out



def resume_ours(cases, load):
    """Section 2: tskeras's one-epoch files (loaded by `load`) trained one more epoch."""
    out = {}
    for case in cases:
        model = load(case["file"])
        x, y = np.asarray(case["x"], "float32"), np.asarray(case["y"], "float32")
        history = model.fit(x, y, epochs=1, batch_size=case["batch_size"], shuffle=False, verbose=0)
        out[case["name"]] = {
            "weights": [w.tolist() for w in model.get_weights()],
            "loss": history.history["loss"][-1],
            "iterations": int(model.optimizer.iterations.numpy()),
        }
    return out


# Section 3: Keras's own files, seeded (weights by Keras's seed, data by `rng`)
rng = None


def seed_cases():
    global rng
    keras.utils.set_random_seed(7)
    rng = np.random.default_rng(0)


def data(*shape):
    return rng.uniform(-1, 1, size=shape).astype("float32")


def tokens(batch, time, n):
    t = rng.integers(1, n, size=(batch, time)).astype("int32")
    t[1::2, -2:] = 0
    return t


def sequential(shape, layers, **kw):
    return keras.Sequential([keras.Input(shape, **kw), *layers])


def keras_case(name, model, xs, compile_args=None, fit_data=None):
    """One of Keras's own cases: compiled (and fitted) when asked, saved by the script's `save_case`."""
    if compile_args:
        model.compile(**compile_args)
        if fit_data:
            model.fit(*fit_data, epochs=1, batch_size=4, shuffle=False, verbose=0)
    entry = {
        "name": name,
        **save_case(name, model),
        "inputs": {"values": [x.tolist() for x in xs], "dtypes": [str(x.dtype) for x in xs]},
        "predictions": tolist(call(model, xs)),
        "weights": [w.tolist() for w in model.get_weights()],
    }
    if compile_args:
        entry["iterations"] = int(model.optimizer.iterations.numpy())
        entry["metrics"] = model.metrics_names
    return entry


def common_keras_cases():
    """The cases both formats write: every recurrent layer and cell, ConvLSTM, stateful, masked."""
    recurrent = [
        L.GRU(4, return_sequences=True),
        L.GRU(3, reset_after=False, return_sequences=True),
        L.LSTM(3, return_sequences=True),
        L.SimpleRNN(2, return_sequences=True),
        L.RNN([L.GRUCell(2), L.LSTMCell(2)], return_sequences=True),
        L.TimeDistributed(L.Dense(2)),
        L.Conv1D(2, 2),
        L.GlobalAveragePooling1D(),
    ]
    t_in = keras.Input((6,), dtype="int32")
    return [
        keras_case(
            "sequential",
            sequential((6,), [L.Dense(4, activation="relu"), L.BatchNormalization(), L.Dropout(0.2), L.Dense(2)]),
            [data(3, 6)],
        ),
        keras_case("recurrent", sequential((5, 3), recurrent), [data(3, 5, 3)]),
        keras_case("conv_lstm", sequential((3, 5, 5, 2), [L.ConvLSTM2D(2, 3, padding="same"), L.Flatten()]), [data(2, 3, 5, 5, 2)]),
        keras_case(
            "stateful",
            sequential((5, 3), [L.GRU(3, stateful=True, return_sequences=True), L.LSTM(2, stateful=True)], batch_size=2),
            [data(2, 5, 3)],
        ),
        keras_case(
            "masked_embedding",
            sequential((6,), [L.Embedding(9, 3, mask_zero=True), L.LSTM(3, return_sequences=True), L.GRU(2), L.Dense(1)], dtype="int32"),
            [tokens(4, 6, 9)],
        ),
        keras_case(
            "masked_functional",
            keras.Model(t_in, L.Dense(1)(L.Bidirectional(L.LSTM(2))(L.Embedding(9, 3, mask_zero=True)(t_in)))),
            [tokens(4, 6, 9)],
        ),
    ]


def resume_keras(resume, out_dir, extension):
    """Section 4: Keras -> tskeras resume: one epoch, save, one more epoch, for each of `OPTIMIZERS`."""
    out = {}
    rx, ry = np.asarray(resume["x"], "float32"), np.asarray(resume["y"], "float32")
    for name, make in OPTIMIZERS.items():
        keras.utils.set_random_seed(11)
        model = sequential((rx.shape[1], rx.shape[2]), [L.GRU(3), L.Dense(1)])
        model.compile(optimizer=make(), loss="mse", metrics=["mae"])
        model.fit(rx, ry, epochs=1, batch_size=resume["batch_size"], shuffle=False, verbose=0)
        file = os.path.join(out_dir, f"k_resume_{name}.{extension}")
        model.save(file)
        history = model.fit(rx, ry, epochs=1, batch_size=resume["batch_size"], shuffle=False, verbose=0)
        out[name] = {
            "file": file,
            "weights": [w.tolist() for w in model.get_weights()],
            "loss": history.history["loss"][-1],
            "mae": history.history["mae"][-1],
        }
    return out
