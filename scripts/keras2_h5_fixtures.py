"""Legacy .h5 files as tf.keras 2 (Keras 2.x) wrote them, and the numbers they must predict.

No tf.keras 2 can be installed here (only Keras 3), so the files are written by hand with h5py,
following tf.keras 2.15's `save_model_to_hdf5` layout: root attributes `keras_version` "2.15.0",
`backend`, `model_config` (a Keras 2 config: `batch_input_shape`, string dtypes, `time_major`,
`implementation`, list-of-lists inbound nodes, the Keras 2 activation "hard_sigmoid") and
`training_config` ("Custom>Adam", MeanMetricWrapper metrics); group `model_weights` with
`layer_names` and per layer `weight_names` such as "gru/gru_cell/kernel:0"; `optimizer_weights` in
TF 2.10's naming ("Adam/iter:0", ".../m:0"). The expected predictions come from Keras 3 running
equivalent models with the same weights: "hard_sigmoid" as the Keras 2 formula clip(0.2 x + 0.5, 0, 1)
given as a function, the cuDNN layers as GRU (reset_after) / LSTM with their biases rearranged.

    .venv-keras/bin/python scripts/keras2_h5_fixtures.py test/fixtures/keras2_h5

writes OUT/*.h5 and OUT/expected.json; test/io/legacy_h5.test.ts loads the committed files and
test/integration/keras/legacy_h5.test.ts regenerates them and checks expected.json is reproduced.
"""

import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import h5py  # noqa: E402
import numpy as np  # noqa: E402

import keras  # noqa: E402

L = keras.layers
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(2)


def hard_sigmoid_keras2(x):
    return keras.ops.clip(0.2 * x + 0.5, 0.0, 1.0)


# (Bidirectional copies its layer through its config, which must find the function by name.)
keras.saving.get_custom_objects()["hard_sigmoid_keras2"] = hard_sigmoid_keras2


def uniform(*shape):
    return rng.uniform(-0.6, 0.6, size=shape).astype("float32")


GLOROT = {"class_name": "GlorotUniform", "config": {"seed": None}}
ORTHO = {"class_name": "Orthogonal", "config": {"gain": 1.0, "seed": None}}
ZEROS = {"class_name": "Zeros", "config": {}}
NO_REG = {
    "kernel_regularizer": None,
    "recurrent_regularizer": None,
    "bias_regularizer": None,
    "activity_regularizer": None,
    "kernel_constraint": None,
    "recurrent_constraint": None,
    "bias_constraint": None,
}


def base(name, **kw):
    return {"name": name, "trainable": True, "dtype": "float32", **kw}


def rnn_common(**kw):
    c = {
        "return_sequences": False,
        "return_state": False,
        "go_backwards": False,
        "stateful": False,
        "unroll": False,
        "time_major": False,
    }
    c.update(kw)
    return c


def gru(name, units, **kw):
    c = base(name, **rnn_common())
    c.update(
        units=units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer=GLOROT,
        recurrent_initializer=ORTHO,
        bias_initializer=ZEROS,
        dropout=0.0,
        recurrent_dropout=0.0,
        implementation=2,
        reset_after=True,
        **NO_REG,
    )
    c.update(kw)
    return {"class_name": "GRU", "config": c}


def lstm(name, units, **kw):
    c = base(name, **rnn_common())
    c.update(
        units=units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer=GLOROT,
        recurrent_initializer=ORTHO,
        bias_initializer=ZEROS,
        unit_forget_bias=True,
        dropout=0.0,
        recurrent_dropout=0.0,
        implementation=2,
        **NO_REG,
    )
    c.update(kw)
    return {"class_name": "LSTM", "config": c}


def dense(name, units, **kw):
    c = base(name, units=units, activation="linear", use_bias=True, kernel_initializer=GLOROT, bias_initializer=ZEROS)
    c.update(kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None)
    c.update(kernel_constraint=None, bias_constraint=None)
    c.update(kw)
    return {"class_name": "Dense", "config": c}


def input_layer(name, batch_shape, dtype="float32"):
    return {
        "class_name": "InputLayer",
        "config": {"batch_input_shape": batch_shape, "dtype": dtype, "sparse": False, "ragged": False, "name": name},
    }


def write_file(path, model_config, layers, training_config=None, optimizer=None):
    """layers: [(layer name, [(weight name, array), ...])] in model.layers order."""
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(model_config).encode("utf8")
        if training_config is not None:
            f.attrs["training_config"] = json.dumps(training_config).encode("utf8")
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = [n.encode("utf8") for n, _ in layers]
        g.attrs["backend"] = b"tensorflow"
        g.attrs["keras_version"] = b"2.15.0"
        for name, weights in sorted(layers, key=lambda x: x[0]):
            lg = g.create_group(name)
            lg.attrs["weight_names"] = [w.encode("utf8") for w, _ in weights]
            for w, v in weights:
                lg.create_dataset(w, data=v)
        if optimizer is not None:
            og = f.create_group("optimizer_weights")
            og.attrs["weight_names"] = [n.encode("utf8") for n, _ in optimizer]
            for n, v in optimizer:
                og.create_dataset(n, data=v)


def sequential_config(name, layers):
    return {"class_name": "Sequential", "config": {"name": name, "layers": layers}}


expected = {"keras_version": keras.__version__, "files": {}}


def record(name, x, model):
    y = model(x, training=False)
    expected["files"][name] = {
        "file": f"{name}.h5",
        "input": x.tolist(),
        "input_dtype": str(x.dtype),
        "predictions": np.asarray(y).tolist(),
    }


# 1. Sequential, Keras 2 GRU (reset_after = FALSE, the Keras 2 hard sigmoid) and LSTM; compiled.
w = {
    "gru": [uniform(3, 12), uniform(4, 12), uniform(12)],
    "lstm": [uniform(4, 12), uniform(3, 12), uniform(12)],
    "dense": [uniform(3, 2), uniform(2)],
}
config = sequential_config(
    "sequential",
    [
        input_layer("gru_input", [None, 5, 3]),
        gru("gru", 4, reset_after=False, recurrent_activation="hard_sigmoid", return_sequences=True, implementation=1),
        lstm("lstm", 3, recurrent_activation="hard_sigmoid"),
        dense("dense", 2),
    ],
)
training = {
    "loss": "mse",
    "metrics": [[{"class_name": "MeanMetricWrapper", "config": {"name": "mae", "dtype": "float32", "fn": "mean_absolute_error"}}]],
    "weighted_metrics": None,
    "loss_weights": None,
    "optimizer_config": {
        "class_name": "Custom>Adam",
        "config": {
            "name": "Adam",
            "weight_decay": None,
            "clipnorm": None,
            "global_clipnorm": None,
            "clipvalue": None,
            "use_ema": False,
            "ema_momentum": 0.99,
            "ema_overwrite_frequency": None,
            "jit_compile": False,
            "is_legacy_optimizer": False,
            "learning_rate": 0.0020000000949949026,
            "beta_1": 0.9,
            "beta_2": 0.999,
            "epsilon": 1e-07,
            "amsgrad": False,
        },
    },
}
names = {
    "gru": ["gru/gru_cell/kernel:0", "gru/gru_cell/recurrent_kernel:0", "gru/gru_cell/bias:0"],
    "lstm": ["lstm/lstm_cell/kernel:0", "lstm/lstm_cell/recurrent_kernel:0", "lstm/lstm_cell/bias:0"],
    "dense": ["dense/kernel:0", "dense/bias:0"],
}
trainable = [(n, v) for layer in ["gru", "lstm", "dense"] for n, v in zip(names[layer], w[layer])]
optimizer = [("Adam/iter:0", np.asarray(3, dtype="int64"))]
optimizer += [(f"Adam/{n[:-2]}/m:0", np.zeros_like(v)) for n, v in trainable]
optimizer += [(f"Adam/{n[:-2]}/v:0", np.zeros_like(v)) for n, v in trainable]
write_file(
    os.path.join(out, "keras2_sequential.h5"),
    config,
    [(layer, list(zip(names[layer], w[layer]))) for layer in ["gru", "lstm", "dense"]],
    training,
    optimizer,
)
k3 = keras.Sequential(
    [
        keras.Input((5, 3)),
        L.GRU(4, reset_after=False, recurrent_activation=hard_sigmoid_keras2, return_sequences=True),
        L.LSTM(3, recurrent_activation=hard_sigmoid_keras2),
        L.Dense(2),
    ]
)
k3.set_weights(w["gru"] + w["lstm"] + w["dense"])
record("keras2_sequential", uniform(3, 5, 3), k3)

# 2. Keras 2.2 style (no InputLayer: batch_input_shape on the first layer) with the cuDNN layers.
w = {
    "cu_dnngru": [uniform(3, 9), uniform(3, 9), uniform(18)],
    "fwd": [uniform(3, 8), uniform(2, 8), uniform(16)],
    "bwd": [uniform(3, 8), uniform(2, 8), uniform(16)],
    "dense_1": [uniform(4, 1), uniform(1)],
}


def cudnn(class_name, name, units, **kw):
    c = base(name, **kw)
    c.update(
        units=units,
        kernel_initializer=GLOROT,
        recurrent_initializer=ORTHO,
        bias_initializer=ZEROS,
        return_sequences=kw.get("return_sequences", False),
        return_state=False,
        go_backwards=False,
        stateful=False,
        **NO_REG,
    )
    if class_name == "CuDNNLSTM":
        c["unit_forget_bias"] = True
    return {"class_name": class_name, "config": c}


first = cudnn("CuDNNGRU", "cu_dnngru", 3, return_sequences=True)
first["config"]["batch_input_shape"] = [None, 4, 3]
bidirectional = {
    "class_name": "Bidirectional",
    "config": base("bidirectional", layer=cudnn("CuDNNLSTM", "cu_dnnlstm", 2), merge_mode="concat"),
}
config = sequential_config("cudnn", [first, bidirectional, dense("dense_1", 1)])
write_file(
    os.path.join(out, "keras2_cudnn.h5"),
    config,
    [
        ("cu_dnngru", list(zip(["cu_dnngru/kernel:0", "cu_dnngru/recurrent_kernel:0", "cu_dnngru/bias:0"], w["cu_dnngru"]))),
        (
            "bidirectional",
            list(
                zip(
                    [f"bidirectional/{d}_cu_dnnlstm/{n}:0" for d in ["forward", "backward"] for n in ["kernel", "recurrent_kernel", "bias"]],
                    w["fwd"] + w["bwd"],
                )
            ),
        ),
        ("dense_1", list(zip(["dense_1/kernel:0", "dense_1/bias:0"], w["dense_1"]))),
    ],
)


def lstm_bias(b):
    return b[:8] + b[8:]


k3 = keras.Sequential(
    [
        keras.Input((4, 3)),
        L.GRU(3, reset_after=True, return_sequences=True),
        L.Bidirectional(L.LSTM(2)),
        L.Dense(1),
    ]
)
k3.set_weights(
    w["cu_dnngru"][:2]
    + [w["cu_dnngru"][2].reshape(2, 9)]
    + w["fwd"][:2]
    + [lstm_bias(w["fwd"][2])]
    + w["bwd"][:2]
    + [lstm_bias(w["bwd"][2])]
    + w["dense_1"]
)
record("keras2_cudnn", uniform(2, 4, 3), k3)

# 3. Functional ("Model", Keras < 2.4 naming): masked embedding, bidirectional GRU (reset_after) with
#    the Keras 2 hard sigmoid, stateful-free ConvLSTM2D branch with its Keras 2.15 default recurrent
#    activation "hard_sigmoid", and an Add.
w = {
    "embedding": [uniform(9, 3)],
    "fwd": [uniform(3, 6), uniform(2, 6), uniform(2, 6)],
    "bwd": [uniform(3, 6), uniform(2, 6), uniform(2, 6)],
    "dense_2": [uniform(4, 2), uniform(2)],
}
emb = {
    "class_name": "Embedding",
    "config": base(
        "embedding",
        input_dim=9,
        output_dim=3,
        embeddings_initializer={"class_name": "RandomUniform", "config": {"minval": -0.05, "maxval": 0.05, "seed": None}},
        embeddings_regularizer=None,
        activity_regularizer=None,
        embeddings_constraint=None,
        mask_zero=True,
        input_length=6,
    ),
    "name": "embedding",
    "inbound_nodes": [[["tokens", 0, 0, {}]]],
}
bi = {
    "class_name": "Bidirectional",
    "config": base("bidirectional_1", layer=gru("gru_1", 2, recurrent_activation="hard_sigmoid"), merge_mode="concat"),
    "name": "bidirectional_1",
    "inbound_nodes": [[["embedding", 0, 0, {}]]],
}
head = {**dense("dense_2", 2), "name": "dense_2", "inbound_nodes": [[["bidirectional_1", 0, 0, {}]]]}
tokens_in = {**input_layer("tokens", [None, 6], "int32"), "name": "tokens", "inbound_nodes": []}
config = {
    "class_name": "Model",
    "config": {
        "name": "model",
        "layers": [tokens_in, emb, bi, head],
        "input_layers": [["tokens", 0, 0]],
        "output_layers": [["dense_2", 0, 0]],
    },
}
write_file(
    os.path.join(out, "keras2_functional.h5"),
    config,
    [
        ("tokens", []),
        ("embedding", [("embedding/embeddings:0", w["embedding"][0])]),
        (
            "bidirectional_1",
            list(
                zip(
                    [f"bidirectional_1/{d}_gru_1/gru_cell/{n}:0" for d in ["forward", "backward"] for n in ["kernel", "recurrent_kernel", "bias"]],
                    w["fwd"] + w["bwd"],
                )
            ),
        ),
        ("dense_2", list(zip(["dense_2/kernel:0", "dense_2/bias:0"], w["dense_2"]))),
    ],
)
t_in = keras.Input((6,), dtype="int32")
h = L.Embedding(9, 3, mask_zero=True)(t_in)
h = L.Bidirectional(L.GRU(2, recurrent_activation=hard_sigmoid_keras2))(h)
k3 = keras.Model(t_in, L.Dense(2)(h))
k3.set_weights(w["embedding"] + w["fwd"] + w["bwd"] + w["dense_2"])
tokens = rng.integers(1, 9, size=(4, 6)).astype("int32")
tokens[1::2, -2:] = 0
record("keras2_functional", tokens, k3)

# 4. Stateful (batch size 2 in batch_input_shape) and ConvLSTM2D with Keras 2.15's hard_sigmoid default.
w = {
    "conv_lst_m2d": [uniform(2, 2, 1, 8), uniform(2, 2, 2, 8), uniform(8)],
    "simple_rnn": [uniform(18, 3), uniform(3, 3), uniform(3)],
}
conv = {
    "class_name": "ConvLSTM2D",
    "config": base(
        "conv_lst_m2d",
        **rnn_common(return_sequences=True, stateful=True),
        filters=2,
        kernel_size=[2, 2],
        strides=[1, 1],
        padding="same",
        data_format="channels_last",
        dilation_rate=[1, 1],
        activation="tanh",
        recurrent_activation="hard_sigmoid",
        use_bias=True,
        kernel_initializer=GLOROT,
        recurrent_initializer=ORTHO,
        bias_initializer=ZEROS,
        unit_forget_bias=True,
        dropout=0.0,
        recurrent_dropout=0.0,
        **NO_REG,
    ),
}
del conv["config"]["time_major"]
flat = {"class_name": "TimeDistributed", "config": base("time_distributed", layer={"class_name": "Flatten", "config": base("flatten", data_format="channels_last")})}
srnn = {
    "class_name": "SimpleRNN",
    "config": base(
        "simple_rnn",
        **rnn_common(stateful=True),
        units=3,
        activation="tanh",
        use_bias=True,
        kernel_initializer=GLOROT,
        recurrent_initializer=ORTHO,
        bias_initializer=ZEROS,
        dropout=0.0,
        recurrent_dropout=0.0,
        **NO_REG,
    ),
}
config = sequential_config("stateful", [input_layer("conv_lst_m2d_input", [2, 3, 3, 3, 1]), conv, flat, srnn])
write_file(
    os.path.join(out, "keras2_stateful.h5"),
    config,
    [
        ("conv_lst_m2d", list(zip([f"conv_lst_m2d/conv_lstm_cell/{n}:0" for n in ["kernel", "recurrent_kernel", "bias"]], w["conv_lst_m2d"]))),
        ("time_distributed", []),
        ("simple_rnn", list(zip([f"simple_rnn/simple_rnn_cell/{n}:0" for n in ["kernel", "recurrent_kernel", "bias"]], w["simple_rnn"]))),
    ],
)
k3 = keras.Sequential(
    [
        keras.Input((3, 3, 3, 1), batch_size=2),
        L.ConvLSTM2D(2, 2, padding="same", recurrent_activation=hard_sigmoid_keras2, return_sequences=True, stateful=True),
        L.TimeDistributed(L.Flatten()),
        L.SimpleRNN(3, stateful=True),
    ]
)
k3.set_weights(w["conv_lst_m2d"] + w["simple_rnn"])
record("keras2_stateful", uniform(2, 3, 3, 3, 1), k3)

json.dump(expected, open(os.path.join(out, "expected.json"), "w"), indent=1)
