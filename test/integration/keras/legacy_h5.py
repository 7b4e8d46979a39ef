"""Real Keras's side of legacy_h5.test.ts (the legacy HDF5 .h5 format): one call does all of it.

1. Loads every .h5 file tskeras wrote (keras.saving.load_model), predicts, saves the loaded model again
   as .h5 and describes both files as h5py sees them (groups, datasets, shapes, dtypes, attributes),
   with any dataset whose values differ; loads tskeras's weights-only files (model.load_weights, by
   order and by name) into the model of its .h5 file.
2. Resumes training of tskeras's one-epoch .h5 files for one more epoch.
3. Writes its own models as .h5 (model.save) and weights-only files (the legacy layout at the root,
   legacy_h5_format.save_weights_to_hdf5_group), with its predictions.
4. Trains the resume models one epoch, saves them as .h5, trains one more.

argv[1]: input JSON, argv[2]: output JSON.
"""
import json
import sys

from keras.src.legacy.saving import legacy_h5_format, saving_utils

inp = json.load(open(sys.argv[1]))
out_dir = inp["dir"]


JSON_ATTRS = {"model_config", "training_config"}


def json_attr(f, name):
    v = f.attrs.get(name)
    if v is None:
        return None
    return json.loads(v.decode("utf8") if hasattr(v, "decode") else v)


result = {"ours": {}, "weights_ours": {}, "resume_ours": {}, "keras": [], "resume_keras": {}}

# 1. tskeras's .h5 files
def resumable(path):
    """A compiled .h5 file's model as Keras means to load it. Keras 3.15.1 cannot resume from a compiled
    .h5 file itself, not even its own: load_model builds the optimizer for `model._trainable_variables`
    (empty then), so fit fails with "Unknown variable" and a re-save loses the optimizer's slots. Here the
    file's training config and optimizer variables go to a fresh optimizer built for the model's
    trainable variables."""
    model = keras.saving.load_model(path)
    with h5py.File(path, "r") as f:
        config = json_attr(f, "training_config")
        if config is None:
            return model
        args = saving_utils.compile_args_from_training_config(config)
        optimizer = args["optimizer"]
        optimizer.build(model.trainable_variables)
        optimizer.set_weights([np.asarray(v) for v in legacy_h5_format.load_optimizer_weights_from_hdf5_group(f)])
    model.compile(**args)
    return model


for case in inp["ours"]:
    path = case["file"]
    model = resumable(path)
    xs = arrays(case["inputs"])
    y = call(model, xs)
    again = os.path.join(out_dir, "keras_" + os.path.basename(path))
    model.save(again)
    with h5py.File(path, "r") as a, h5py.File(again, "r") as b:
        result["ours"][case["name"]] = {
            "predictions": tolist(y),
            "ours": describe(a, JSON_ATTRS),
            "keras": describe(b, JSON_ATTRS),
            "differing": differing(a, b),
            "model_config": [json_attr(a, "model_config"), json_attr(b, "model_config")],
            "training_config": [json_attr(a, "training_config"), json_attr(b, "training_config")],
        }
    if case.get("weights"):
        fresh = keras.saving.load_model(path)
        for layer in fresh.layers:
            for v in layer.weights:
                v.assign(np.zeros(v.shape, v.dtype))
        fresh.load_weights(case["weights"])
        by_name = keras.saving.load_model(path)
        by_name.load_weights(case["weights"], by_name=True)
        result["weights_ours"][case["name"]] = {"by_order": tolist(call(fresh, xs)), "by_name": tolist(call(by_name, xs))}

# 2. resume tskeras's one-epoch .h5 files in Keras (see resumable())
result["resume_ours"] = resume_ours(inp["resume_ours"], resumable)


# 3. Keras's own .h5 files
def save_case(name, model):
    file = os.path.join(out_dir, f"k_{name}.h5")
    weights_file = os.path.join(out_dir, f"k_{name}_weights.h5")
    model.save(file)
    with h5py.File(weights_file, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
    return {"file": file, "weights_file": weights_file}


seed_cases()
result["keras"] = common_keras_cases()
x1, x2 = keras.Input((5, 3), name="seq"), keras.Input((4,), name="vec")
a = L.Dense(3)(L.LSTM(4)(x1))
b = L.Dense(3)(x2)
fit_x, fit_y = data(8, 5, 3), data(8, 1)
result["keras"] += [
    keras_case("functional", keras.Model([x1, x2], [L.Dense(2)(L.Concatenate()([L.Add()([a, b]), L.Multiply()([a, b])])), a]), [data(3, 5, 3), data(3, 4)]),
    keras_case(
        "bidirectional",
        sequential(
            (5, 3),
            [
                L.Bidirectional(L.LSTM(2, return_sequences=True)),
                L.Bidirectional(L.GRU(2, return_sequences=True), merge_mode="sum"),
                L.Bidirectional(L.GRU(2), merge_mode="mul", backward_layer=L.SimpleRNN(2, go_backwards=True)),
            ],
        ),
        [data(3, 5, 3)],
    ),
    keras_case(
        "long_names",
        keras.Sequential([keras.Input((2,)), *[L.Dense(2, name=f"dense_{i}_" + "x" * 1000) for i in range(70)]]),
        [data(3, 2)],
    ),
    keras_case(
        "compiled",
        sequential((5, 3), [L.GRU(3), L.Dense(1)]),
        [data(3, 5, 3)],
        compile_args={"optimizer": keras.optimizers.Adam(0.01), "loss": "mse", "metrics": ["mae"]},
        fit_data=(fit_x, fit_y),
    ),
]

# 4. Keras -> tskeras resume: one epoch, save .h5, one more epoch
OPTIMIZERS = {
    "adam": lambda: keras.optimizers.Adam(0.01, amsgrad=True),
    "sgd": lambda: keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    "rmsprop": lambda: keras.optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    "nadam": lambda: keras.optimizers.Nadam(0.01),
    "schedule": lambda: keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(0.02, 3, 0.5)),
}
result["resume_keras"] = resume_keras(inp["resume_data"], out_dir, "h5")

json.dump(result, open(sys.argv[2], "w"))
