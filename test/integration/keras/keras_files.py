"""Real Keras's side of keras_files.test.ts: one call does all of it.

1. Loads every .keras file tskeras wrote, predicts on the given inputs, saves the loaded model again
   and describes both weights files as h5py sees them (groups, datasets, shapes, dtypes, attributes),
   with any dataset whose values differ between the two.
2. Resumes training of tskeras's one-epoch files for one more epoch (direction tskeras -> Keras).
3. Writes its own models (sequential, functional, stateful, masked, bidirectional, compiled, ...) as
   .keras, .weights.h5 and to_json() files, with its predictions.
4. Trains the resume models one epoch, saves them, trains one more (direction Keras -> tskeras).

argv[1]: input JSON, argv[2]: output JSON.
"""
import io
import json
import sys
import zipfile

inp = json.load(open(sys.argv[1]))
out_dir = inp["dir"]


def weights_h5(path):
    """The model.weights.h5 of a .keras file, as an open h5py file."""
    data = zipfile.ZipFile(path).read("model.weights.h5")
    return h5py.File(io.BytesIO(data), "r")


result = {"ours": {}, "resume_ours": {}, "keras": [], "resume_keras": {}}

def halve(x):
    return x * 0.5


# 1. tskeras's files (a Lambda layer's function is found by its name in custom_objects, as for Keras's own)
for case in inp["ours"]:
    path = case["file"]
    model = keras.saving.load_model(path, custom_objects={"halve": halve})
    xs = arrays(case["inputs"])
    # (TensorFlow cannot run a layer whose name is not ASCII: such a model is only loaded and saved.)
    y = call(model, xs) if case.get("predict", True) else None
    again = os.path.join(out_dir, "keras_" + os.path.basename(path))
    model.save(again)
    with weights_h5(path) as a, weights_h5(again) as b:
        result["ours"][case["name"]] = {
            "predictions": None if y is None else tolist(y),
            "layer_names": [l.name for l in model.layers],
            "ours": describe(a),
            "keras": describe(b),
            "differing": differing(a, b),
            "config": json.loads(zipfile.ZipFile(path).read("config.json")),
        }

# 2. resume tskeras's one-epoch files in Keras
result["resume_ours"] = resume_ours(inp["resume_ours"], keras.saving.load_model)


# 3. Keras's own files
def save_case(name, model):
    keras_file = os.path.join(out_dir, f"k_{name}.keras")
    weights_file = os.path.join(out_dir, f"k_{name}.weights.h5")
    model.save(keras_file)
    model.save_weights(weights_file)
    return {"keras_file": keras_file, "weights_file": weights_file, "json": model.to_json()}


def masked(batch, time, features):
    x = data(batch, time, features)
    x[1::2, -2:, :] = 0
    return x


seed_cases()
result["keras"] = common_keras_cases()
x1, x2 = keras.Input((5, 3), name="seq"), keras.Input((4,), name="vec")
a = L.Dense(3)(L.LSTM(4)(x1))
b = L.Dense(3)(x2)
b_in = keras.Input((5, 3))
fit_x, fit_y = data(8, 5, 3), data(8, 1)
result["keras"] += [
    keras_case(
        "functional",
        keras.Model([x1, x2], [L.Dense(2)(L.Concatenate()([L.Add()([a, b]), L.Multiply()([a, b]), L.Dot(axes=1)([a, b])])), a]),
        [data(3, 5, 3), data(3, 4)],
    ),
    keras_case("masking", sequential((6, 2), [L.Masking(0.0), L.SimpleRNN(3, return_sequences=True), L.GRU(2)]), [masked(4, 6, 2)]),
    keras_case(
        "bidirectional",
        sequential(
            (5, 3),
            [
                L.Bidirectional(L.LSTM(2, return_sequences=True)),
                L.Bidirectional(L.GRU(2, return_sequences=True), merge_mode="sum"),
                L.Bidirectional(L.SimpleRNN(2, return_sequences=True), merge_mode="ave"),
                L.Bidirectional(L.GRU(2), merge_mode="mul", backward_layer=L.SimpleRNN(2, go_backwards=True)),
            ],
        ),
        [data(3, 5, 3)],
    ),
    keras_case("bidirectional_none", keras.Model(b_in, L.Bidirectional(L.GRU(2, return_sequences=True), merge_mode=None)(b_in)), [data(3, 5, 3)]),
    keras_case(
        "compiled",
        sequential((5, 3), [L.GRU(3), L.Dense(1)]),
        [data(3, 5, 3)],
        compile_args={"optimizer": keras.optimizers.Adam(0.01), "loss": "mse", "metrics": ["mae", keras.metrics.RootMeanSquaredError()]},
        fit_data=(fit_x, fit_y),
    ),
]

# 4. Keras -> tskeras resume: one epoch, save, one more epoch
OPTIMIZERS = {
    "adam": lambda: keras.optimizers.Adam(0.01, amsgrad=True),
    "sgd": lambda: keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    "rmsprop": lambda: keras.optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    "adagrad": lambda: keras.optimizers.Adagrad(0.05),
    "adadelta": lambda: keras.optimizers.Adadelta(1.0),
    "adamax": lambda: keras.optimizers.Adamax(0.01),
    "nadam": lambda: keras.optimizers.Nadam(0.01),
    "adamw": lambda: keras.optimizers.AdamW(0.01),
    "schedule": lambda: keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(0.02, 3, 0.5)),
    "lion": lambda: keras.optimizers.Lion(0.01),
    "lamb": lambda: keras.optimizers.Lamb(0.01),
    "ftrl": lambda: keras.optimizers.Ftrl(0.1, l1_regularization_strength=0.01),
    "adafactor": lambda: keras.optimizers.Adafactor(0.01),
    "polynomial_decay": lambda: keras.optimizers.SGD(keras.optimizers.schedules.PolynomialDecay(0.05, 3)),
    "cosine_decay_restarts": lambda: keras.optimizers.SGD(keras.optimizers.schedules.CosineDecayRestarts(1.0, 2)),
}
result["resume_keras"] = resume_keras(inp["resume_data"], out_dir, "keras")

json.dump(result, open(sys.argv[2], "w"))
