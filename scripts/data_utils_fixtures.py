"""Expected outputs of Keras 3 for tskeras's data utilities, and small dataset files with the structure of
Keras's own (imdb.npz, reuters.npz, mnist.npz, boston_housing.npz, the fashion-mnist idx files, the word
indexes), generated here so that the tests never download anything.

    .venv-keras/bin/python scripts/data_utils_fixtures.py test/fixtures/data_utils

writes OUT/datasets/* and OUT/keras.json. The dataset files are deterministic in content (not in bytes:
zip entries carry the time of writing); keras.json holds what Keras 3.15.1 returns for them and for the
other utilities. test/integration/keras/data_utils_fixtures.test.ts regenerates both and checks that the
committed keras.json is what Keras gives.
"""

import gzip
import io
import json
import os
import pickle
import struct
import sys
import zipfile

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

import keras  # noqa: E402
from keras.src.datasets import boston_housing, fashion_mnist, imdb, mnist, reuters  # noqa: E402
from keras.src.legacy.preprocessing.sequence import TimeseriesGenerator  # noqa: E402
from keras.src.legacy.preprocessing.text import Tokenizer  # noqa: E402

out_dir = sys.argv[1]
data_dir = os.path.join(out_dir, "datasets")
os.makedirs(os.path.join(data_dir, "fashion-mnist"), exist_ok=True)
rng = np.random.RandomState(20240611)


def tolist(a):
    if isinstance(a, np.ndarray):
        if a.dtype == object:
            return [tolist(e) for e in a]
        return a.tolist()
    if isinstance(a, list):
        return [tolist(e) for e in a]
    return a


def arr(a):
    a = np.asarray(a)
    return {"shape": list(a.shape), "data": a.reshape(-1).tolist(), "dtype": str(a.dtype)}


def object_array(seqs):
    a = np.empty(len(seqs), dtype=object)
    a[:] = [list(map(int, s)) for s in seqs]
    return a


def write_npz_old_numpy(path, arrays):
    """An .npz as numpy 1.x wrote it: object arrays pickled with protocol 3 and `numpy.core.multiarray`
    names (Keras's imdb.npz predates numpy 2); numeric arrays as plain .npy."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, a in arrays.items():
            buf = io.BytesIO()
            if a.dtype == object:
                np.lib.format.write_array_header_1_0(
                    buf, {"descr": "|O", "fortran_order": False, "shape": a.shape}
                )
                body = pickle.dumps(a, protocol=3)
                body = body.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
                buf.write(body)
            else:
                np.save(buf, a)
            z.writestr(name + ".npy", buf.getvalue())


def seqs(n, lo, hi, vocab):
    return [rng.randint(1, vocab, size=rng.randint(lo, hi)).tolist() for _ in range(n)]


# ---- dataset files -----------------------------------------------------------------------------
imdb_arrays = {
    "x_train": object_array(seqs(14, 1, 16, 40)),
    "y_train": rng.randint(0, 2, size=14).astype(np.int64),
    "x_test": object_array(seqs(11, 1, 16, 40)),
    "y_test": rng.randint(0, 2, size=11).astype(np.int64),
}
write_npz_old_numpy(os.path.join(data_dir, "imdb.npz"), imdb_arrays)
np.savez(
    os.path.join(data_dir, "reuters.npz"),
    x=object_array(seqs(23, 1, 12, 30)),
    y=rng.randint(0, 46, size=23).astype(np.int64),
)
np.savez(
    os.path.join(data_dir, "mnist.npz"),
    x_train=rng.randint(0, 256, size=(5, 28, 28)).astype(np.uint8),
    y_train=rng.randint(0, 10, size=5).astype(np.uint8),
    x_test=rng.randint(0, 256, size=(3, 28, 28)).astype(np.uint8),
    y_test=rng.randint(0, 10, size=3).astype(np.uint8),
)
np.savez(
    os.path.join(data_dir, "boston_housing.npz"),
    x=rng.uniform(0, 100, size=(21, 13)),
    y=rng.uniform(5, 50, size=21),
)


def write_idx(path, a):
    header = struct.pack(">I", 0x0800 | a.ndim) + b"".join(struct.pack(">I", d) for d in a.shape)
    with open(path, "wb") as f:
        f.write(gzip.compress(header + a.astype(np.uint8).tobytes(), mtime=0))


fashion = {
    "train-labels-idx1-ubyte.gz": rng.randint(0, 10, size=4),
    "train-images-idx3-ubyte.gz": rng.randint(0, 256, size=(4, 28, 28)),
    "t10k-labels-idx1-ubyte.gz": rng.randint(0, 10, size=2),
    "t10k-images-idx3-ubyte.gz": rng.randint(0, 256, size=(2, 28, 28)),
}
for name, a in fashion.items():
    write_idx(os.path.join(data_dir, "fashion-mnist", name), a)
for name in ["imdb_word_index.json", "reuters_word_index.json"]:
    with open(os.path.join(data_dir, name), "w") as f:
        json.dump({"the": 1, "and": 2, "a": 3, "constructor": 4, "__proto__": 5}, f)


# ---- Keras's loaders on those files (get_file patched to the local copy) ------------------------
def local_get_file(fname=None, origin=None, cache_subdir="datasets", **kwargs):
    name = fname or os.path.basename(origin)
    sub = os.path.basename(cache_subdir) if cache_subdir != "datasets" else ""
    return os.path.join(data_dir, sub, name)


for module in (imdb, reuters, mnist, fashion_mnist, boston_housing):
    module.get_file = local_get_file


def loaded(result):
    (xtr, ytr), (xte, yte) = result
    return {"train": {"x": tolist(xtr) if xtr.dtype == object else arr(xtr), "y": arr(ytr)},
            "test": {"x": tolist(xte) if xte.dtype == object else arr(xte), "y": arr(yte)}}


sequence_cases = [
    {},
    {"num_words": 20},
    {"num_words": 20, "skip_top": 5},
    {"maxlen": 9},
    {"seed": 7, "start_char": None, "oov_char": None, "index_from": 0, "num_words": 15},
    {"start_char": 0, "index_from": 1, "skip_top": 3, "oov_char": None},
]
expected = {
    "keras_version": keras.__version__,
    "datasets": {
        "imdb": [{"args": c, "out": loaded(imdb.load_data(**c))} for c in sequence_cases],
        "reuters": [{"args": c, "out": loaded(reuters.load_data(**c))}
                    for c in sequence_cases + [{"test_split": 0.5, "seed": 1}]],
        "mnist": loaded(mnist.load_data()),
        "fashion_mnist": loaded(fashion_mnist.load_data()),
        "boston_housing": [{"args": c, "out": loaded(boston_housing.load_data(**c))}
                           for c in [{}, {"test_split": 0.3, "seed": 2}]],
        "imdb_word_index": imdb.get_word_index(),
    },
}

# ---- pad_sequences, to_categorical, normalize ------------------------------------------------------
pad_input = [[1], [2, 3], [4, 5, 6], [], [7, 8, 9, 10]]
pad_cases = [
    {},
    {"maxlen": 2},
    {"padding": "post"},
    {"truncating": "post", "maxlen": 3},
    {"padding": "post", "truncating": "post", "maxlen": 3, "value": -1},
    {"dtype": "float32", "value": 0.5},
]
expected["pad_sequences"] = [
    {"sequences": pad_input, "args": c, "out": arr(keras.utils.pad_sequences(pad_input, **c))} for c in pad_cases
]
fractional = [[1.7, -1.7], [2.5]]
expected["pad_sequences"].append(
    {"sequences": fractional, "args": {}, "out": arr(keras.utils.pad_sequences(fractional))}
)
vectors = [[[1, 2], [3, 4]], [[5, 6]], []]
expected["pad_sequences"].append(
    {"sequences": vectors, "args": {"maxlen": 3}, "out": arr(keras.utils.pad_sequences(vectors, maxlen=3))}
)

categorical_cases = [
    ([0, 2, 1], {}),
    ([0, 2, 1], {"num_classes": 4}),
    ([[1], [0], [3]], {}),
    ([[0, 1, 2], [2, 1, 0]], {"num_classes": 3}),
]
expected["to_categorical"] = [
    {"y": y, "args": c, "out": arr(keras.utils.to_categorical(y, **c))} for y, c in categorical_cases
]

x_norm = [[3.0, 4.0, 0.0], [0.0, 0.0, 0.0], [1.0, -2.0, 2.0], [-5.0, 1.5, 0.25]]
normalize_cases = [({}, None), ({"order": 1}, None), ({"order": np.inf}, None), ({"order": 3}, None)]
expected["normalize"] = []
for c, _ in normalize_cases:
    expected["normalize"].append(
        {"x": x_norm, "args": {k: ("Inf" if v == np.inf else v) for k, v in c.items()},
         "out": arr(keras.utils.normalize(np.array(x_norm), **c))}
    )
# keras.utils.normalize's numpy path fails for axis=0 (it expands the norms at axis -1 whatever `axis`
# is); the expected values for axis 0 come from numpy's norm directly, which that path means to compute.
x3 = np.array(x_norm).reshape(2, 2, 3)
for axis in [0, 1]:
    norm = np.linalg.norm(x3, 2, axis=axis, keepdims=True)
    norm[norm == 0] = 1
    expected["normalize"].append({"x": x3.tolist(), "args": {"axis": axis}, "out": arr(x3 / norm)})

# ---- timeseries_dataset_from_array --------------------------------------------------------------
series = np.arange(40, dtype="float32").reshape(20, 2)
ts_targets = np.arange(20, dtype="float32") * 10
ts_cases = [
    {"sequence_length": 4},
    {"sequence_length": 4, "batch_size": 3},
    {"sequence_length": 3, "sequence_stride": 2, "sampling_rate": 2, "batch_size": 4},
    {"sequence_length": 2, "start_index": 3, "end_index": 15, "batch_size": 5},
    {"sequence_length": 5, "batch_size": 4, "no_targets": True},
    {"sequence_length": 3, "batch_size": 4, "short_targets": 7},
]
expected["timeseries_dataset"] = []
for c in ts_cases:
    kw = {k: v for k, v in c.items() if k not in ("no_targets", "short_targets")}
    targets = None if c.get("no_targets") else ts_targets[: c["short_targets"]] if "short_targets" in c else ts_targets
    ds = keras.utils.timeseries_dataset_from_array(series, targets, **kw)
    batches = []
    for b in ds:
        if targets is None:
            batches.append({"x": arr(b.numpy())})
        else:
            batches.append({"x": arr(b[0].numpy()), "y": arr(b[1].numpy())})
    expected["timeseries_dataset"].append({"args": c, "batches": batches})

# Shuffled: Keras permutes the start positions with numpy's RandomState(seed) (reproduced exactly), then
# tf.data shuffles locally in a buffer of 8 batches at every pass (random numbers of its own).
long_series = np.arange(300, dtype="float32").reshape(300, 1)
shuffle_args = {"sequence_length": 3, "sequence_stride": 2, "batch_size": 4, "shuffle": True, "seed": 5}
positions = np.arange(0, 300 - 2, 2, dtype="int32")
np.random.RandomState(5).shuffle(positions)
ds = keras.utils.timeseries_dataset_from_array(long_series, None, **shuffle_args)
passes = [[int(b.numpy()[i, 0, 0]) for b in ds for i in range(b.shape[0])] for _ in range(2)]
expected["timeseries_dataset_shuffled"] = {
    "args": shuffle_args,
    "rows": 300,
    "numpy_order": positions.tolist(),
    "keras_passes": passes,
}

# ---- TimeseriesGenerator (Keras 2's, kept in Keras 3 as keras.src.legacy) -----------------------------
gen_cases = [
    {"length": 3},
    {"length": 3, "batch_size": 4},
    {"length": 4, "sampling_rate": 2, "stride": 3, "batch_size": 2},
    {"length": 2, "start_index": 5, "end_index": 14, "batch_size": 3},
    {"length": 5, "reverse": True, "batch_size": 6},
    {"length": 3, "sampling_rate": 2, "reverse": True, "batch_size": 5},
]
expected["timeseries_generator"] = []
for c in gen_cases:
    g = TimeseriesGenerator(series, ts_targets, **c)
    expected["timeseries_generator"].append(
        {"args": c, "length": len(g), "batches": [{"x": arr(g[i][0]), "y": arr(g[i][1])} for i in range(len(g))]}
    )

# ---- Tokenizer (Keras 2's keras.preprocessing.text, kept in Keras 3 as keras.src.legacy) ---------------
texts = [
    "The cat sat on the mat.",
    "The dog ate my homework!",
    "Dogs and cats, cats and DOGS; the end?",
    "Ünïcode wörds: Straße — naïve café",
    "tab\tseparated\nnew-line words",
]
more_texts = ["the mat and the dog", "unseen words here"]
tok_cases = [
    {},
    {"num_words": 5},
    {"num_words": 6, "oov_token": "<OOV>"},
    {"oov_token": "the"},
    {"lower": False, "filters": "!,.;?"},
    {"split": "a"},
    {"char_level": True, "num_words": 8},
    {"char_level": True, "oov_token": "?", "lower": False},
]
expected["tokenizer"] = []
for c in tok_cases:
    tok = Tokenizer(**c)
    tok.fit_on_texts(texts)
    after_first = {"word_index": dict(tok.word_index), "word_counts": list(tok.word_counts.items())}
    tok.fit_on_texts(more_texts)
    seqs_out = tok.texts_to_sequences(texts + more_texts + ["words never seen"])
    case = {
        "args": c,
        "first_fit": after_first,
        "word_counts": list(tok.word_counts.items()),
        "word_docs": dict(tok.word_docs),
        "word_index": dict(tok.word_index),
        "index_word": {str(k): v for k, v in tok.index_word.items()},
        "index_docs": {str(k): v for k, v in tok.index_docs.items()},
        "document_count": tok.document_count,
        "sequences": seqs_out,
        "matrix": {m: arr(tok.texts_to_matrix(texts + more_texts, mode=m)) for m in ["binary", "count", "tfidf", "freq"]},
    }
    expected["tokenizer"].append(case)

with open(os.path.join(out_dir, "keras.json"), "w") as f:
    json.dump(expected, f, sort_keys=True, separators=(",", ":"))
    f.write("\n")
