"""Oracle for test/integration/keras/text.test.ts: Keras 3's text layers on the cases given.

Input: {cases: [{cls, args, adapt, inputs}], load: [{file, inputs}], save_dir}.
Output: {cases: [{vocabulary, output}], load: [outputs], saved: [{file, inputs, output}]}.
"""
import json
import sys

import numpy as np
import keras
import tensorflow as tf

cfg = json.load(open(sys.argv[1]))
CLASSES = {
    "TextVectorization": keras.layers.TextVectorization,
    "StringLookup": keras.layers.StringLookup,
    "IntegerLookup": keras.layers.IntegerLookup,
}


def plain(v):
    a = np.asarray(v)
    if a.dtype.kind in "SO":
        return [plain(x) for x in a] if a.ndim else (a.item().decode() if isinstance(a.item(), bytes) else a.item())
    return a.astype(np.float64).tolist()


def data(x):
    """Raw inputs for predict(): strings as a string tensor (NumPy's unicode arrays are not a Keras dtype)."""
    return tf.constant(x) if isinstance(np.asarray(x).flat[0], str) else np.array(x)


def make(case):
    args = dict(case["args"])
    if isinstance(args.get("ngrams"), list):
        args["ngrams"] = tuple(args["ngrams"])
    layer = CLASSES[case["cls"]](**args)
    if case.get("adapt") is not None:
        layer.adapt(np.array(case["adapt"]))
    return layer


out = {"cases": [], "load": [], "saved": []}
for case in cfg["cases"]:
    layer = make(case)
    vocab = [v.decode() if isinstance(v, bytes) else (v.item() if hasattr(v, "item") else v) for v in layer.get_vocabulary()]
    out["cases"].append({"vocabulary": vocab, "output": plain(layer(np.array(case["inputs"])))})

def layout(path):
    """A .keras file's zip entries and its weights file's objects (name, and shape for datasets)."""
    import io
    import zipfile

    import h5py

    z = zipfile.ZipFile(path)
    objects = []
    with h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as h:
        h.visititems(lambda n, o: objects.append([n, list(o.shape) if hasattr(o, "shape") else None]))
    assets = {n: z.read(n).decode() for n in z.namelist() if n.startswith("assets/")}
    return {"entries": sorted(z.namelist()), "objects": objects, "assets": assets}


# Files written by tskeras: load them and predict on raw strings; Keras saving them again gives the same layout.
out["layouts"] = []
for item in cfg["load"]:
    model = keras.saving.load_model(item["file"])
    out["load"].append(plain(model.predict(data(item["inputs"]), verbose=0)))
    again = item["file"] + ".again.keras"
    model.save(again)
    out["layouts"].append({"ours": layout(item["file"]), "keras": layout(again)})

# Files written here for tskeras to load: text layers adapted in Keras, with an embedding / GRU after.
keras.utils.set_random_seed(3)
corpus = cfg["corpus"]
tv = keras.layers.TextVectorization(max_tokens=30, output_sequence_length=7)
tv.adapt(corpus)
inp = keras.Input(shape=(1,), dtype="string")
x = tv(inp)
x = keras.layers.Embedding(30, 4, mask_zero=True)(x)
x = keras.layers.Bidirectional(keras.layers.GRU(3))(x)
model = keras.Model(inp, keras.layers.Dense(2)(x))
path = cfg["save_dir"] + "/keras_text_functional.keras"
model.save(path)
probe = [[s] for s in cfg["probe"]]
out["saved"].append({"file": path, "inputs": probe, "output": plain(model.predict(data(probe), verbose=0))})

tv2 = keras.layers.TextVectorization(output_mode="tf_idf", ngrams=2, max_tokens=25)
tv2.adapt(corpus)
seq = keras.Sequential([keras.Input(shape=(1,), dtype="string"), tv2, keras.layers.Dense(3)])
path = cfg["save_dir"] + "/keras_text_tfidf.keras"
seq.save(path)
out["saved"].append({"file": path, "inputs": probe, "output": plain(seq.predict(data(probe), verbose=0))})

sl = keras.layers.StringLookup(output_mode="multi_hot", mask_token="[PAD]")
sl.adapt(np.array(cfg["tokens"]))
seq = keras.Sequential([keras.Input(shape=(3,), dtype="string"), sl, keras.layers.Dense(2)])
path = cfg["save_dir"] + "/keras_string_lookup.keras"
seq.save(path)
out["saved"].append({"file": path, "inputs": cfg["tokens"], "output": plain(seq.predict(data(cfg["tokens"]), verbose=0))})

json.dump(out, open(sys.argv[2], "w"))
