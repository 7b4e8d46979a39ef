"""Helpers the Keras file scripts share (prepended to keras_files.py and legacy_h5.py by their tests):
inputs from JSON, outputs to JSON, and what h5py sees of a file."""
import h5py
import numpy as np


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

