"""PyTorch side of `npm run bench` (called by bench/run.ts with /usr/bin/python3).
Same shapes and models as the tfjs cases, one thread, float32. Prints one JSON line."""
import json, resource, sys, time
import torch

torch.set_num_threads(1)
QUICK = len(sys.argv) > 1 and sys.argv[1] == "quick"
B, T, F, U = 32, 50, 16, 64


def budget(s):
    return s / 3 if QUICK else s


def time_it(f, secs, min_n=2, warmup=1):
    for _ in range(warmup):
        f()
    n, t0 = 0, time.perf_counter()
    while n < min_n or time.perf_counter() - t0 < secs:
        f()
        n += 1
    return (time.perf_counter() - t0) / n


class Net(torch.nn.Module):
    def __init__(self, case):
        super().__init__()
        self.case = case
        if case == "lstm":
            self.rnn = torch.nn.LSTM(F, U, batch_first=True)
        elif case == "stacked_gru":
            self.rnn = torch.nn.GRU(F, U, num_layers=2, batch_first=True)
        elif case == "bidir_masked_gru":
            self.rnn = torch.nn.GRU(F, U, batch_first=True, bidirectional=True)
        else:
            self.rnn = torch.nn.GRU(F, U, batch_first=True)
        self.dense = torch.nn.Linear(2 * U if case == "bidir_masked_gru" else U, 1)

    def forward(self, x, lengths=None):
        if self.case == "bidir_masked_gru":
            packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            _, h = self.rnn(packed)  # h: (2, B, U): forward final (at each length) and backward final
            return self.dense(torch.cat([h[0], h[1]], 1))
        out, _ = self.rnn(x)
        return self.dense(out[:, -1])


def lengths_for(n):
    return torch.tensor([20 + (i * 7) % 31 for i in range(n)])


def bench_case(case):
    net = Net(case)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    x, y = torch.rand(B, T, F) * 2 - 1, torch.rand(B, 1) * 2 - 1
    xp = torch.rand(1024, T, F) * 2 - 1
    lens, lensp = lengths_for(B), lengths_for(1024)

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(net(x, lens), y)
        loss.backward()
        opt.step()

    ms = time_it(step, budget(2.5), 3) * 1000

    def pred():
        with torch.no_grad():
            net(xp, lensp)

    pms = time_it(pred, budget(1.5), 2) * 1000

    def pred32():
        with torch.no_grad():
            net(x, lens)

    p32 = time_it(pred32, budget(1.0), 2) * 1000
    return {"case": case, "train": B * 1000 / ms, "predict": 1024 * 1000 / pms, "predict32": B * 1000 / p32}


def bench_stream():
    cell = torch.nn.GRU(F, U, batch_first=True)
    x = torch.rand(1, 1, F)
    h = torch.zeros(1, 1, U)

    def steps():
        nonlocal h
        with torch.no_grad():
            for _ in range(100):
                _, h = cell(x, h)

    return time_it(steps, budget(1.5), 2) * 1000 / 100


def bench_long():
    out = []
    for n in [50, 100, 250, 500]:
        net = Net("gru")
        opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
        x, y = torch.rand(B, n, F), torch.rand(B, 1)

        def step():
            opt.zero_grad()
            torch.nn.functional.mse_loss(net(x), y).backward()
            opt.step()

        ms = time_it(step, budget(1.2), 2) * 1000

        def pred():
            with torch.no_grad():
                net(x)

        pms = time_it(pred, budget(0.6), 2) * 1000
        out.append({"len": n, "ms_train": ms, "ms_predict": pms})
    return out


res = {
    "version": torch.__version__,
    "cases": [bench_case(c) for c in ["gru", "lstm", "stacked_gru", "bidir_masked_gru"]],
    "stream_ms": bench_stream(),
    "long": bench_long(),
}
res["maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(res))
