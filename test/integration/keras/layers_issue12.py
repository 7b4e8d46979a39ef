"""Keras 3 oracle for test/integration/keras/layers_issue12.test.ts (argv[1]: cases JSON, argv[2]: answer JSON).

Every case builds its model here from the case's description (Keras code, not a config this package
wrote), sets the weights the test sends, predicts, saves the model to a .keras file in the test's
folder, and — for `train` cases — takes one SGD step on the mse loss with the whole batch, shuffle off:
the weights after the step hold the gradients.
"""

import json
import os
import sys

import keras
import numpy as np

inp = json.load(open(sys.argv[1]))
arr = lambda v, dtype="float32": np.array(v, dtype=dtype)
lists = lambda ws: [np.asarray(w).tolist() for w in ws]


def attention_model(c):
    """Token inputs -> shared Embedding (mask_zero) -> attention layer -> Dense."""
    qi = keras.Input((c["tq"],), dtype="int32")
    vi = keras.Input((c["tv"],), dtype="int32")
    emb = keras.layers.Embedding(c["vocab"], c["dim"], mask_zero=c["mask"])
    q, v = emb(qi), emb(vi)
    tensors = [q, v]
    if c["key_dim"]:
        tensors.append(keras.layers.Embedding(c["vocab"], c["key_dim"], mask_zero=c["mask"])(vi))
    layer = getattr(keras.layers, c["layer"])(**c["args"])
    call = c["call"]
    out = layer(*tensors, **call) if c["layer"] == "MultiHeadAttention" else layer(tensors, **call)
    if call.get("return_attention_scores"):
        return keras.Model([qi, vi], list(out))
    return keras.Model([qi, vi], keras.layers.Dense(2)(out))


def single_model(c):
    """Input -> the layer (-> Dense when the case trains)."""
    x = keras.Input(c["input_shape"])
    y = getattr(keras.layers, c["layer"])(**c["args"])(x)
    if c.get("dense"):
        y = keras.layers.Dense(2)(y)
    return keras.Model(x, y)


def run(index, c):
    model = attention_model(c) if c["kind"] == "attention" else single_model(c)
    model.set_weights([arr(w) for w in c["weights"]])
    xs = [arr(x, "int32" if c["kind"] == "attention" else "float32") for x in c["x"]]
    xs = xs if len(xs) > 1 else xs[0]
    y = model.predict(xs, verbose=0)
    out = {"output": lists(y) if isinstance(y, list) else np.asarray(y).tolist()}
    # The model as Keras saves it, for the test to read back here.
    out["file"] = os.path.join(inp["dir"], f"case_{index}.keras")
    model.save(out["file"])
    if c.get("train"):
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse", run_eagerly=True)
        h = model.fit(xs, arr(c["y"]), batch_size=len(c["y"]), epochs=1, shuffle=False, verbose=0)
        out["train"] = {"weights": lists(model.get_weights()), "losses": h.history["loss"]}
    return out


json.dump({"cases": [run(i, c) for i, c in enumerate(inp["cases"])]}, open(sys.argv[2], "w"))
