"""Keras 3 oracle for test/integration/keras/merge_masks.test.ts (argv[1]: cases JSON, argv[2]: answer JSON).

Every case builds its model here from the case's description (Keras code, not a config this package
wrote): two int token inputs -> one Embedding each (mask_zero as the case says) -> the merge layer ->
a GRU (which reads the merged mask) or a Dense per step (which shows the merged values at every step,
masked ones too) -> Dense. It sets the weights the test sends, predicts, and saves the model to a
.keras file in the test's folder.
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
    y = model.predict([np.array(x, dtype="int32") for x in c["x"]], verbose=0)
    path = os.path.join(inp["dir"], f"case_{index}.keras")
    model.save(path)
    return {"output": np.asarray(y).tolist(), "file": path}


json.dump({"cases": [run(i, c) for i, c in enumerate(inp["cases"])]}, open(sys.argv[2], "w"))
