"""One Python peer of `npm run bench` (bench/peers/run.ts starts it, one process per system and mode).

usage: python_peer.py SYSTEM MODE [quick]
  SYSTEM: keras-jax | keras-tensorflow (Keras 3; KERAS_BACKEND is set by the caller) | torch-1 | torch-2
          (PyTorch with 1 or 2 threads)
  MODE:   train (W1-W4: train and predict) | stream-predict | stream-predict_on_batch | launch | sweep

Prints result lines "@@ {json}"; in launch mode "@@FITDONE" right after the first fit. Same workloads,
shapes and timing rules as bench/peers/node_peer.ts (see bench/peers/workloads.md).
"""
import json
import os
import resource
import sys
import time

SYSTEM, MODE = sys.argv[1], sys.argv[2]
QUICK = len(sys.argv) > 3 and sys.argv[3] == "quick"
BUDGET = 1.0 if QUICK else 4.0
TORCH = SYSTEM.startswith("torch")

import numpy as np  # noqa: E402

if TORCH:
    import torch  # noqa: E402

    torch.set_num_threads(int(SYSTEM.split("-")[1]))
    torch.manual_seed(0)
else:
    import keras  # noqa: E402
    from keras import layers  # noqa: E402

rng = np.random.default_rng(0)

# (name, batch, steps, features, units) as in workloads.md
WORKLOADS = {
    "W1": dict(kind="gru", B=32, T=50, F=16, U=64, layers=1),
    "W2": dict(kind="lstm", B=32, T=50, F=16, U=64, layers=1),
    "W3": dict(kind="gru", B=64, T=100, F=32, U=128, layers=2),
    "W4": dict(kind="embed_bilstm", B=32, T=80, F=None, U=64, layers=1),
}
BATCHES_PER_EPOCH = 8


def emit(obj):
    print("@@ " + json.dumps(obj), flush=True)


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def lengths(n, T):
    # right-padded lengths 20..80 (W4), deterministic
    return np.array([20 + (i * 7) % (T - 19) for i in range(n)])


def data(w, n):
    if w["kind"] == "embed_bilstm":
        L = lengths(n, w["T"])
        x = rng.integers(1, 1000, size=(n, w["T"]))
        x[np.arange(w["T"])[None, :] >= L[:, None]] = 0
        y = rng.integers(0, 2, size=(n, 1)).astype("float32")
        return x.astype("int32"), y, L
    x = rng.standard_normal((n, w["T"], w["F"])).astype("float32")
    y = rng.standard_normal((n, 1)).astype("float32")
    return x, y, None


def timed(f, budget, min_n=2):
    """Calls f() (one warm-up first) until `budget` seconds have passed; seconds per call."""
    f()
    n, t0 = 0, time.perf_counter()
    while n < min_n or time.perf_counter() - t0 < budget:
        f()
        n += 1
    return (time.perf_counter() - t0) / n


# ---------------------------------------------------------------------------------------------
# Keras 3


def keras_model(w, stateful=False):
    k = w["kind"]
    if k == "embed_bilstm":
        m = keras.Sequential(
            [
                keras.Input((w["T"],), dtype="int32"),
                layers.Embedding(1000, 32, mask_zero=True),
                layers.Bidirectional(layers.LSTM(w["U"])),
                layers.Dense(1, activation="sigmoid"),
            ]
        )
        m.compile(optimizer="adam", loss="binary_crossentropy")
        return m
    rnn = layers.GRU if k == "gru" else layers.LSTM
    stack = [rnn(w["U"], return_sequences=True) for _ in range(w["layers"] - 1)] + [rnn(w["U"], stateful=stateful)]
    inp = keras.Input(batch_shape=(1, 1, w["F"])) if stateful else keras.Input((w["T"], w["F"]))
    m = keras.Sequential([inp, *stack, layers.Dense(1)])
    m.compile(optimizer="adam", loss="mse")
    return m


def keras_train(w, budget):
    m = keras_model(w)
    n = w["B"] * BATCHES_PER_EPOCH
    x, y, _ = data(w, n)
    s = timed(lambda: m.fit(x, y, batch_size=w["B"], epochs=1, verbose=0, shuffle=False), budget)
    return m, n / s


def keras_predict(m, w, budget, n=1024):
    x, _, _ = data(w, n)
    s = timed(lambda: m.predict(x, batch_size=n, verbose=0), budget)
    return n / s


# ---------------------------------------------------------------------------------------------
# PyTorch


class TorchNet(torch.nn.Module if TORCH else object):
    def __init__(self, w):
        super().__init__()
        self.w = w
        k = w["kind"]
        if k == "embed_bilstm":
            self.emb = torch.nn.Embedding(1000, 32, padding_idx=0)
            self.rnn = torch.nn.LSTM(32, w["U"], batch_first=True, bidirectional=True)
            self.dense = torch.nn.Linear(2 * w["U"], 1)
        else:
            rnn = torch.nn.GRU if k == "gru" else torch.nn.LSTM
            self.rnn = rnn(w["F"], w["U"], num_layers=w["layers"], batch_first=True)
            self.dense = torch.nn.Linear(w["U"], 1)

    def forward(self, x, lengths=None, state=None):
        if self.w["kind"] == "embed_bilstm":
            packed = torch.nn.utils.rnn.pack_padded_sequence(
                self.emb(x), lengths, batch_first=True, enforce_sorted=False
            )
            _, (h, _) = self.rnn(packed)
            return self.dense(torch.cat([h[0], h[1]], 1)), None
        out, state = self.rnn(x, state)
        return self.dense(out[:, -1]), state


def torch_data(w, n):
    x, y, L = data(w, n)
    return torch.from_numpy(x).long() if L is not None else torch.from_numpy(x), torch.from_numpy(y), (
        torch.from_numpy(L) if L is not None else None
    )


def torch_train(w, budget):
    net = TorchNet(w)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.BCEWithLogitsLoss() if w["kind"] == "embed_bilstm" else torch.nn.MSELoss()
    n = w["B"] * BATCHES_PER_EPOCH
    x, y, L = torch_data(w, n)

    def epoch():
        for i in range(0, n, w["B"]):
            opt.zero_grad()
            out, _ = net(x[i : i + w["B"]], None if L is None else L[i : i + w["B"]])
            loss_fn(out, y[i : i + w["B"]]).backward()
            opt.step()

    s = timed(epoch, budget)
    return net, n / s


def torch_predict(net, w, budget, n=1024):
    x, _, L = torch_data(w, n)

    def pred():
        with torch.inference_mode():
            out, _ = net(x, L)
            if w["kind"] == "embed_bilstm":
                out = torch.sigmoid(out)
            return out.numpy()

    s = timed(pred, budget)
    return n / s


# ---------------------------------------------------------------------------------------------
# modes


def train_mode():
    for name, w in WORKLOADS.items():
        if TORCH:
            net, train = torch_train(w, BUDGET)
            predict = torch_predict(net, w, BUDGET / 2)
        else:
            m, train = keras_train(w, BUDGET)
            predict = keras_predict(m, w, BUDGET / 2)
        emit({"workload": name, "train": train, "predict": predict})
    emit({"peak_rss_mib": peak_rss_mib()})


def stream_mode(call):
    w = dict(WORKLOADS["W1"])
    x = rng.standard_normal((1, 1, w["F"])).astype("float32")
    cold_n, warm_n = 1000, 1000 if QUICK else 3000
    if TORCH:
        net = TorchNet(w)
        net.eval()
        state = [None]
        xt = torch.from_numpy(x)

        def step():
            with torch.inference_mode():
                out, state[0] = net(xt, state=state[0])
                return out.tolist()

    else:
        m = keras_model(w, stateful=True)
        step = (lambda: m.predict(x, verbose=0)) if call == "predict" else (lambda: m.predict_on_batch(x))
    t0 = time.perf_counter()
    for _ in range(cold_n):
        step()
    cold = (time.perf_counter() - t0) / cold_n * 1000
    # warm: up to warm_n calls, at least 100, stopping after the time budget (Keras predict() takes ms)
    n, t0 = 0, time.perf_counter()
    while n < warm_n and (n < 100 or time.perf_counter() - t0 < BUDGET):
        step()
        n += 1
    warm = (time.perf_counter() - t0) / n * 1000
    emit({"stream": call, "cold_ms": cold, "warm_ms": warm, "peak_rss_mib": peak_rss_mib()})


def launch_mode():
    w = WORKLOADS["W1"]
    n = w["B"] * 10
    if TORCH:
        net = TorchNet(w)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
        x, y, _ = torch_data(w, n)
        for i in range(0, n, w["B"]):
            opt.zero_grad()
            out, _ = net(x[i : i + w["B"]])
            torch.nn.functional.mse_loss(out, y[i : i + w["B"]]).backward()
            opt.step()
    else:
        m = keras_model(w)
        x, y, _ = data(w, n)
        m.fit(x, y, batch_size=w["B"], epochs=1, verbose=0)
    print("@@FITDONE", flush=True)
    emit({"peak_rss_mib": peak_rss_mib()})


def sweep_mode():
    for T in [50, 100, 200, 400]:
        w = dict(WORKLOADS["W1"], T=T)
        budget = BUDGET / 2
        train = torch_train(w, budget)[1] if TORCH else keras_train(w, budget)[1]
        emit({"sweep": T, "train": train})


def versions():
    if TORCH:
        return {"torch": torch.__version__, "threads": torch.get_num_threads()}
    import importlib

    b = keras.backend.backend()
    return {"keras": keras.__version__, "backend": b, b: importlib.import_module(b).__version__}


emit({"versions": versions()})
if MODE == "train":
    train_mode()
elif MODE.startswith("stream-"):
    stream_mode(MODE.split("-", 1)[1])
elif MODE == "launch":
    launch_mode()
elif MODE == "sweep":
    sweep_mode()
else:
    sys.exit(f"unknown mode {MODE}")
