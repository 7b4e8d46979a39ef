#!/usr/bin/python3
"""
Reference numbers for bidirectional() and layer_conv_lstm_1d/2d/3d, computed with PyTorch (1.13,
float64) from the Keras equations — never from tskeras. Writes test/fixtures/wrappers_torch.json.

    /usr/bin/python3 scripts/torch_wrapper_fixtures.py [output.json]

Conventions written out here (KERAS_FACTS "Cells" and "The recurrent loop"):
- Keras weight layouts: LSTM kernel (in, 4u), recurrent (u, 4u), bias (4u), gates i, f, c, o;
  GRU (reset_after) kernel (in, 3u), recurrent (u, 3u), bias (2, 3u), gates z, r, h;
  ConvLSTM kernel kernel_size + (in_channels, 4*filters), recurrent kernel_size + (filters, 4*filters).
- torch.nn.LSTM uses gates i, f, g, o with weight_ih = kernel^T; torch.nn.GRU uses r, z, n, so the
  Keras z and r blocks swap. torch's bidirectional output already has the backward direction in input
  time order, which is what Keras's Bidirectional gives after flipping the backward sequence.
- torch convolutions are cross-correlations like TF's; torch weights are (out, in, *k), Keras's
  (*k, in, out). TF "same" padding: out = ceil(L / s), total = max((out - 1) s + (k - 1) d + 1 - L, 0),
  the smaller half before, the larger after.
- Masked steps (Keras): states keep their values; the output is zeros with zero_output_for_mask
  (Bidirectional sets it to return_sequences), else the previous output.
"""
import json
import sys

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
gen = torch.Generator().manual_seed(20240601)


def rand(*shape, scale=0.5):
    return (torch.rand(*shape, generator=gen) * 2 - 1) * scale


def listed(t):
    return t.detach().tolist()


# ------------------------------------------------------------------------------------------------
# LSTM with the Keras equations (a reference loop with masks), checked against torch.nn.LSTM.

def lstm_keras(x, W, U, b, h, c, mask=None, go_backwards=False, zero_output=False):
    """x (B, T, in). Returns (sequence in processing order, last output, [h, c])."""
    B, T, _ = x.shape
    u = U.shape[0]
    steps = range(T - 1, -1, -1) if go_backwards else range(T)
    outs = []
    prev = torch.zeros(B, u)
    for t in steps:
        z = x[:, t] @ W + h @ U + b
        zi, zf, zc, zo = z.split(u, dim=1)
        c_new = torch.sigmoid(zf) * c + torch.sigmoid(zi) * torch.tanh(zc)
        h_new = torch.sigmoid(zo) * torch.tanh(c_new)
        if mask is None:
            out, h, c = h_new, h_new, c_new
        else:
            m = mask[:, t:t + 1]
            out = torch.where(m, h_new, torch.zeros_like(h_new) if zero_output else prev)
            h = torch.where(m, h_new, h)
            c = torch.where(m, c_new, c)
        prev = out
        outs.append(out)
    return torch.stack(outs, 1), outs[-1], [h, c]


def torch_lstm(W, U, b, bidirectional=False, Wb=None, Ub=None, bb=None):
    m = torch.nn.LSTM(W.shape[0], U.shape[0], batch_first=True, bidirectional=bidirectional)
    with torch.no_grad():
        m.weight_ih_l0.copy_(W.T)
        m.weight_hh_l0.copy_(U.T)
        m.bias_ih_l0.copy_(b)
        m.bias_hh_l0.zero_()
        if bidirectional:
            m.weight_ih_l0_reverse.copy_(Wb.T)
            m.weight_hh_l0_reverse.copy_(Ub.T)
            m.bias_ih_l0_reverse.copy_(bb)
            m.bias_hh_l0_reverse.zero_()
    return m


def merge(mode, y, y_rev):
    if mode == "concat":
        return torch.cat([y, y_rev], -1)
    if mode == "sum":
        return y + y_rev
    if mode == "ave":
        return (y + y_rev) / 2
    if mode == "mul":
        return y * y_rev
    raise ValueError(mode)


def bidirectional_lstm_cases():
    B, T, D, u = 2, 4, 3, 3
    x = rand(B, T, D, scale=1.0)
    Wf, Uf, bf = rand(D, 4 * u), rand(u, 4 * u), rand(4 * u)
    Wb, Ub, bb = rand(D, 4 * u), rand(u, 4 * u), rand(4 * u)
    weights = [listed(w) for w in (Wf, Uf, bf, Wb, Ub, bb)]
    bi = torch_lstm(Wf, Uf, bf, True, Wb, Ub, bb)
    zeros = torch.zeros(2, B, u)
    with torch.no_grad():
        seq, (h_n, c_n) = bi(x, (zeros, zeros))
    y_seq, y_rev_seq = seq[..., :u], seq[..., u:]
    # The reference loop agrees with torch.nn.LSTM (so it can be trusted for the masked cases).
    f_seq, _, f_states = lstm_keras(x, Wf, Uf, bf, torch.zeros(B, u), torch.zeros(B, u))
    b_seq, _, b_states = lstm_keras(x, Wb, Ub, bb, torch.zeros(B, u), torch.zeros(B, u), go_backwards=True)
    assert torch.allclose(f_seq, y_seq) and torch.allclose(b_seq.flip(1), y_rev_seq)
    assert torch.allclose(f_states[1], c_n[0]) and torch.allclose(b_states[1], c_n[1])

    # return_sequences FALSE: the forward layer's last step, the backward layer's last processed step (t = 0).
    y_last, y_rev_last = h_n[0], h_n[1]
    merges = {}
    for mode in ("concat", "sum", "ave", "mul"):
        merges[mode] = {"sequences": listed(merge(mode, y_seq, y_rev_seq)), "last": listed(merge(mode, y_last, y_rev_last))}
    merges["null"] = {"sequences": [listed(y_seq), listed(y_rev_seq)], "last": [listed(y_last), listed(y_rev_last)]}
    states = [listed(h_n[0]), listed(c_n[0]), listed(h_n[1]), listed(c_n[1])]

    # initial_state [h_f, c_f, h_b, c_b].
    init = [rand(B, u) for _ in range(4)]
    with torch.no_grad():
        seq0, (h0n, c0n) = bi(x, (torch.stack([init[0], init[2]]), torch.stack([init[1], init[3]])))

    # A mask with holes (not only right padding): masked steps keep states, output zeros (return_sequences).
    mask = torch.tensor([[True, True, False, True], [True, False, True, False]])
    fm_seq, fm_last, fm_states = lstm_keras(x, Wf, Uf, bf, torch.zeros(B, u), torch.zeros(B, u), mask, False, True)
    bm_seq, bm_last, bm_states = lstm_keras(x, Wb, Ub, bb, torch.zeros(B, u), torch.zeros(B, u), mask, True, True)
    # return_sequences FALSE: zero_output_for_mask FALSE, the last output repeats the last unmasked one.
    _, fl_last, _ = lstm_keras(x, Wf, Uf, bf, torch.zeros(B, u), torch.zeros(B, u), mask, False, False)
    _, bl_last, _ = lstm_keras(x, Wb, Ub, bb, torch.zeros(B, u), torch.zeros(B, u), mask, True, False)

    # Stateful: call 2 starts where call 1 ended, in each direction; after a reset it starts from zeros.
    x2 = rand(B, T, D, scale=1.0)
    with torch.no_grad():
        seq2, _ = bi(x2, (h_n, c_n))
        seq2_reset, _ = bi(x2, (zeros, zeros))

    return {
        "batch": B, "time": T, "features": D, "units": u,
        "x": listed(x), "weights": weights,
        "merges": merges, "states": states,
        "initial_state": [listed(s) for s in init],
        "with_initial_state": {"sequences": listed(seq0), "states": [listed(h0n[0]), listed(c0n[0]), listed(h0n[1]), listed(c0n[1])]},
        "mask": listed(mask),
        "masked": {
            "sequences": listed(torch.cat([fm_seq, bm_seq.flip(1)], -1)),
            "last": listed(torch.cat([fl_last, bl_last], -1)),
            "states": [listed(s) for s in fm_states + bm_states],
        },
        "x2": listed(x2),
        "stateful": {"call2": listed(seq2), "call2_after_reset": listed(seq2_reset)},
    }


def bidirectional_gru_case():
    """GRU (reset_after TRUE), merge "sum", return_sequences: through torch.nn.GRU."""
    B, T, D, u = 2, 3, 2, 2
    x = rand(B, T, D, scale=1.0)
    weights = []
    m = torch.nn.GRU(D, u, batch_first=True, bidirectional=True)

    def to_torch(blocks):  # Keras z, r, h -> torch r, z, n
        z, r, h = blocks
        return torch.cat([r, z, h], 0)

    for suffix in ("", "_reverse"):
        W, U, b = rand(D, 3 * u), rand(u, 3 * u), rand(2, 3 * u)
        weights += [listed(W), listed(U), listed(b)]
        with torch.no_grad():
            getattr(m, "weight_ih_l0" + suffix).copy_(to_torch(W.T.split(u, 0)))
            getattr(m, "weight_hh_l0" + suffix).copy_(to_torch(U.T.split(u, 0)))
            getattr(m, "bias_ih_l0" + suffix).copy_(to_torch(b[0].split(u)))
            getattr(m, "bias_hh_l0" + suffix).copy_(to_torch(b[1].split(u)))
    with torch.no_grad():
        seq, _ = m(x)
    return {"x": listed(x), "units": u, "weights": weights, "sum": listed(seq[..., :u] + seq[..., u:])}


def bidirectional_simple_rnn_case():
    """SimpleRNN (tanh), merge "ave", return_sequences FALSE: through torch.nn.RNN."""
    B, T, D, u = 2, 3, 2, 3
    x = rand(B, T, D, scale=1.0)
    weights = []
    m = torch.nn.RNN(D, u, batch_first=True, bidirectional=True)
    for suffix in ("", "_reverse"):
        W, U, b = rand(D, u), rand(u, u), rand(u)
        weights += [listed(W), listed(U), listed(b)]
        with torch.no_grad():
            getattr(m, "weight_ih_l0" + suffix).copy_(W.T)
            getattr(m, "weight_hh_l0" + suffix).copy_(U.T)
            getattr(m, "bias_ih_l0" + suffix).copy_(b)
            getattr(m, "bias_hh_l0" + suffix).zero_()
    with torch.no_grad():
        _, h_n = m(x)
    return {"x": listed(x), "units": u, "weights": weights, "ave": listed((h_n[0] + h_n[1]) / 2)}


# ------------------------------------------------------------------------------------------------
# ConvLSTM with the Keras equations, torch convolutions in (N, C, *spatial) layout.

def conv(x, w_keras, strides, padding, dilation):
    """TF-style convolution of x (N, C, *S) with a Keras kernel (*k, in, out)."""
    rank = x.dim() - 2
    w = w_keras.permute(rank + 1, rank, *range(rank))  # (out, in, *k)
    if padding == "same":
        pads = []
        for d in range(rank):
            L, k, s, dl = x.shape[2 + d], w_keras.shape[d], strides[d], dilation[d]
            out = -(-L // s)
            total = max((out - 1) * s + (k - 1) * dl + 1 - L, 0)
            pads.append((total // 2, total - total // 2))
        x = F.pad(x, [p for pair in reversed(pads) for p in pair])  # F.pad lists the last axis first
    return [None, F.conv1d, F.conv2d, F.conv3d][rank](x, w, stride=strides, dilation=dilation)


def conv_lstm_keras(x, W, U, b, cfg, mask=None):
    """x (B, T, C, *S). Returns (sequence (B, T, f, *out) in processing order, [h, c])."""
    B, T = x.shape[:2]
    rank = x.dim() - 3
    f = cfg["filters"]
    ones = [1] * rank
    bias = b.view(1, -1, *ones)
    steps = range(T - 1, -1, -1) if cfg.get("go_backwards") else range(T)
    h = c = None
    outs = []
    for t in steps:
        zx = conv(x[:, t], W, cfg["strides"], cfg["padding"], cfg["dilation_rate"]) + bias
        if h is None:
            h = torch.zeros(B, f, *zx.shape[2:])
            c = torch.zeros_like(h)
            prev = torch.zeros_like(h)
        z = zx + conv(h, U, ones, "same", ones)
        zi, zf, zc, zo = z.split(f, dim=1)
        c_new = torch.sigmoid(zf) * c + torch.sigmoid(zi) * torch.tanh(zc)
        h_new = torch.sigmoid(zo) * torch.tanh(c_new)
        if mask is None:
            out, h, c = h_new, h_new, c_new
        else:
            m = mask[:, t].view(B, 1, *ones)
            out = torch.where(m, h_new, prev)
            h = torch.where(m, h_new, h)
            c = torch.where(m, c_new, c)
        prev = out
        outs.append(out)
    return torch.stack(outs, 1), [h, c]


def channels_last(t, leading):
    """(..leading, C, *S) -> (..leading, *S, C)."""
    n = t.dim()
    return t.permute(*range(leading), *range(leading + 1, n), leading)


def conv_lstm_case(rank, batch, time, spatial, channels, cfg, mask=None, with_backward=False):
    k = cfg["kernel_size"]
    f = cfg["filters"]
    W = rand(*k, channels, 4 * f)
    U = rand(*k, f, 4 * f)
    b = rand(4 * f)
    x = rand(batch, time, channels, *spatial, scale=1.0)
    m = torch.tensor(mask) if mask is not None else None
    seq, (h, c) = conv_lstm_keras(x, W, U, b, cfg, m)
    out = {
        "rank": rank,
        "config": cfg,
        "weights": [listed(W), listed(U), listed(b)],
        "mask": mask,
        "channels_first": {"x": listed(x), "sequences": listed(seq), "h": listed(h), "c": listed(c)},
        "channels_last": {
            "x": listed(channels_last(x, 2)),
            "sequences": listed(channels_last(seq, 2)),
            "h": listed(channels_last(h, 1)),
            "c": listed(channels_last(c, 1)),
        },
    }
    if with_backward:
        # The same layer with go_backwards, its sequence flipped back to input time order (what
        # bidirectional() merges), channels_last.
        seq_b, _ = conv_lstm_keras(x, W, U, b, {**cfg, "go_backwards": True}, m)
        out["channels_last"]["backward_sequences"] = listed(channels_last(seq_b.flip(1), 2))
    return out


def conv_lstm_cases():
    return {
        "1d_valid_strides": conv_lstm_case(1, 2, 3, [7], 2, {"filters": 2, "kernel_size": [3], "strides": [2], "padding": "valid", "dilation_rate": [1]}),
        "1d_same_backwards_masked": conv_lstm_case(
            1, 2, 4, [5], 2, {"filters": 2, "kernel_size": [2], "strides": [1], "padding": "same", "dilation_rate": [1], "go_backwards": True},
            mask=[[True, False, True, True], [True, True, True, False]]),
        "2d_same_dilated": conv_lstm_case(2, 2, 3, [5, 4], 2, {"filters": 2, "kernel_size": [3, 2], "strides": [1, 1], "padding": "same", "dilation_rate": [2, 1]}, with_backward=True),
        "2d_valid_strides": conv_lstm_case(2, 1, 2, [5, 5], 3, {"filters": 3, "kernel_size": [2, 3], "strides": [2, 1], "padding": "valid", "dilation_rate": [1, 1]}),
        "3d_same": conv_lstm_case(3, 1, 2, [3, 4, 3], 2, {"filters": 2, "kernel_size": [2, 2, 2], "strides": [1, 1, 1], "padding": "same", "dilation_rate": [1, 1, 1]}),
        "3d_valid_strides": conv_lstm_case(3, 2, 2, [4, 3, 5], 1, {"filters": 2, "kernel_size": [2, 2, 3], "strides": [2, 1, 1], "padding": "valid", "dilation_rate": [1, 1, 1]}),
    }


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/wrappers_torch.json"
    data = {
        "generator": "scripts/torch_wrapper_fixtures.py",
        "torch": torch.__version__,
        "bidirectional_lstm": bidirectional_lstm_cases(),
        "bidirectional_gru": bidirectional_gru_case(),
        "bidirectional_simple_rnn": bidirectional_simple_rnn_case(),
        "conv_lstm": conv_lstm_cases(),
    }
    with open(out, "w") as fh:
        json.dump(data, fh, separators=(",", ":"))
        fh.write("\n")
