"""Keras 3 oracle for test/integration/keras/merge_masks.test.ts (argv[1]: cases JSON, argv[2]: answer JSON).

Every case builds its model here from the case's description (Keras code, not a config this package
wrote): two int token inputs -> one Embedding each (mask_zero as the case says) -> the merge layer ->
a GRU (which reads the merged mask) or a Dense per step (which shows the merged values at every step,
masked ones too) -> Dense. It sets the weights the test sends, predicts, saves the model to a .keras
file in the test's folder and — for `train` cases — takes one SGD step on the mse loss with the whole
batch, shuffle off: the weights after the step hold the gradients.
"""

import json
import os
import sys

import keras
import numpy as np

inp = json.load(open(sys.argv[1]))


def merge_model(c):
    tokens = [keras.Input((c["time"],), dtype="int32") for _ in c["mask_zero"]]
    embedded = [
        keras.layers.Embedding(c["vocab"], c["dim"], mask_zero=mask_zero)(t)
        for t, mask_zero in zip(tokens, c["mask_zero"])
    ]
    merged = getattr(keras.layers, c["layer"])()(embedded)
    if c["head"] == "gru":
        merged = keras.layers.GRU(c["units"])(merged)
    return keras.Model(tokens, keras.layers.Dense(2)(merged))


def run(index, c):
    model = merge_model(c)
    model.set_weights([np.array(w, dtype="float32") for w in c["weights"]])
    xs = [np.array(x, dtype="int32") for x in c["x"]]
    y = model.predict(xs, verbose=0)
    path = os.path.join(inp["dir"], f"case_{index}.keras")
    model.save(path)
    out = {"output": np.asarray(y).tolist(), "file": path}
    if c.get("y") is not None:
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse", run_eagerly=True)
        h = model.fit(xs, np.array(c["y"], dtype="float32"), batch_size=len(c["y"]), epochs=1, shuffle=False, verbose=0)
        out["train"] = {"weights": [w.tolist() for w in model.get_weights()], "losses": h.history["loss"]}
    return out


json.dump({"cases": [run(i, c) for i, c in enumerate(inp["cases"])]}, open(sys.argv[2], "w"))
