#!/usr/bin/python3
"""Writes test/fixtures/recurrent_torch.json: PyTorch reference numbers for the recurrent layers.

Random (not constant) weights pin gate order and weight layout. Each case stores the weights already
converted to the Keras layout, the inputs, the outputs (return_sequences), the final states, and the
gradients of a fixed random linear loss with respect to the inputs and every Keras weight:

    loss = sum(outputs * g_out) + sum(h_n * g_h) [+ sum(c_n * g_c)]

Layouts (KERAS_FACTS "Cells"):
  torch.nn.RNN  : kernel = W_ih^T, recurrent_kernel = W_hh^T, bias = b_ih + b_hh
  torch.nn.GRU  : torch gate rows r, z, n; Keras columns z, r, h; bias (2, 3u) = [b_ih; b_hh] reordered
                  (torch's GRU is Keras's reset_after = TRUE variant)
  torch.nn.LSTM : gate order i, f, g, o = Keras i, f, c, o; bias = b_ih + b_hh

Run with the system python that has torch: /usr/bin/python3 scripts/torch_recurrent_fixtures.py [out.json]
"""
import json
import sys

import torch

torch.manual_seed(20240604)
torch.set_default_dtype(torch.float64)

BATCH, STEPS, FEATURES, UNITS = 2, 4, 3, 3


def r(t):
    """Nested lists rounded to 9 significant digits (stable text, float64 source)."""
    return json.loads(json.dumps(t.detach().tolist()), parse_float=lambda s: float("%.9g" % float(s)))


def gru_cols(w):
    """torch (3u, ...) rows r, z, n -> Keras order z, r, h (still rows)."""
    u = w.shape[0] // 3
    return torch.cat([w[u:2 * u], w[:u], w[2 * u:]], 0)


def keras_weights(kind, m):
    wih, whh, bih, bhh = m.weight_ih_l0, m.weight_hh_l0, m.bias_ih_l0, m.bias_hh_l0
    if kind == "gru":
        return [gru_cols(wih).T, gru_cols(whh).T, torch.stack([gru_cols(bih), gru_cols(bhh)])]
    return [wih.T, whh.T, bih + bhh]


def keras_grads(kind, m):
    wih, whh, bih, bhh = (p.grad for p in (m.weight_ih_l0, m.weight_hh_l0, m.bias_ih_l0, m.bias_hh_l0))
    if kind == "gru":
        return [gru_cols(wih).T, gru_cols(whh).T, torch.stack([gru_cols(bih), gru_cols(bhh)])]
    # a summed bias b = b_ih + b_hh has the gradient of either part
    return [wih.T, whh.T, bih]


def make(kind):
    cls = {"simple_rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[kind]
    m = cls(FEATURES, UNITS, batch_first=True)
    with torch.no_grad():
        for p in m.parameters():
            p.uniform_(-0.8, 0.8)
    return m


def backprop_entry(name, kind, m, x, out, states, go_backwards, **flags):
    """Back-propagates random cotangents of the output and final states, and records the case: inputs,
    Keras-layout weights, outputs, states, cotangents and the gradients w.r.t. x and every weight."""
    g_out = torch.randn(*out.shape)
    g_states = [torch.randn(BATCH, UNITS) for _ in states]
    loss = (out * g_out).sum() + sum((s * g).sum() for s, g in zip(states, g_states))
    loss.backward()
    return {
        "name": name,
        "kind": kind,
        "units": UNITS,
        "go_backwards": go_backwards,
        **flags,
        "weights": [r(w) for w in keras_weights(kind, m)],
        "x": r(x),
        "outputs": r(out),
        "states": [r(s) for s in states],
        "g_outputs": r(g_out),
        "g_states": [r(g) for g in g_states],
        "grad_x": r(x.grad),
        "grad_weights": [r(g) for g in keras_grads(kind, m)],
    }


def case(name, kind, initial_state=False, lengths=None, go_backwards=False):
    m = make(kind)
    x = torch.randn(BATCH, STEPS, FEATURES, requires_grad=True)
    n_states = 2 if kind == "lstm" else 1
    init = [torch.randn(BATCH, UNITS) for _ in range(n_states)] if initial_state else None
    torch_init = None
    if init is not None:
        torch_init = (init[0][None], init[1][None]) if kind == "lstm" else init[0][None]
    xin = torch.flip(x, [1]) if go_backwards else x
    if lengths is not None:
        packed = torch.nn.utils.rnn.pack_padded_sequence(xin, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
        out_packed, hn = m(packed, torch_init)
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out_packed, batch_first=True, total_length=STEPS)
    else:
        out, hn = m(xin, torch_init)
    states = [hn[0][0], hn[1][0]] if kind == "lstm" else [hn[0]]
    entry = backprop_entry(name, kind, m, x, out, states, go_backwards)
    if init is not None:
        entry["initial_state"] = [r(s) for s in init]
    if lengths is not None:
        # right-padded: TRUE for the first `length` steps; Keras with zero_output_for_mask = TRUE
        entry["zero_output_for_mask"] = True
        entry["mask"] = [[t < n for t in range(STEPS)] for n in lengths]
    return entry


def stepwise_case(name, kind, mask, go_backwards, zero_output_for_mask):
    """A mask with holes (not only right padding), run one torch step at a time with the Keras mask rule
    (KERAS_FACTS "The recurrent loop"): at a masked step every state keeps its value and the output is
    the previous output (zeros before any output), or zeros with zero_output_for_mask; go_backwards
    runs over reversed time with the mask reversed alike, outputs in processing order."""
    m = make(kind)
    x = torch.randn(BATCH, STEPS, FEATURES, requires_grad=True)
    zeros = torch.zeros(BATCH, UNITS)

    def run(keep):
        states = [zeros, zeros] if kind == "lstm" else [zeros]
        prev = zeros
        outs = []
        for t in (range(STEPS - 1, -1, -1) if go_backwards else range(STEPS)):
            torch_state = (states[0][None], states[1][None]) if kind == "lstm" else states[0][None]
            y, hn = m(x[:, t:t + 1], torch_state)
            new_states = [hn[0][0], hn[1][0]] if kind == "lstm" else [hn[0]]
            k = keep[:, t:t + 1]
            out = torch.where(k, y[:, 0], zeros if zero_output_for_mask else prev)
            states = [torch.where(k, n, s) for n, s in zip(new_states, states)]
            prev = out
            outs.append(out)
        return torch.stack(outs, 1), states

    # The step-at-a-time loop with nothing masked is torch's own sequence run.
    with torch.no_grad():
        unmasked, _ = run(torch.ones(BATCH, STEPS, dtype=torch.bool))
        whole, _ = m(torch.flip(x, [1]) if go_backwards else x)
        assert torch.allclose(unmasked, whole)
    out, states = run(torch.tensor(mask))
    entry = backprop_entry(name, kind, m, x, out, states, go_backwards, zero_output_for_mask=zero_output_for_mask)
    entry["mask"] = mask
    return entry


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/recurrent_torch.json"
    cases = [
        case("simple_rnn", "simple_rnn"),
        case("gru", "gru"),
        case("lstm", "lstm"),
        case("gru_initial_state", "gru", initial_state=True),
        case("lstm_initial_state", "lstm", initial_state=True),
        case("gru_go_backwards", "gru", go_backwards=True),
        case("lstm_masked", "lstm", lengths=[4, 2]),
        case("gru_masked", "gru", lengths=[3, 1]),
        # appended last: the cases above keep their random draws
        stepwise_case("gru_mask_holes_go_backwards", "gru", [[True, False, True, True], [False, True, True, False]], True, False),
        stepwise_case("lstm_mask_holes", "lstm", [[True, True, False, True], [False, False, True, True]], False, False),
        stepwise_case("simple_rnn_mask_holes_go_backwards_zero_output", "simple_rnn", [[False, True, False, True], [True, False, True, True]], True, True),
    ]
    doc = {
        "generator": "scripts/torch_recurrent_fixtures.py",
        "torch_version": torch.__version__.split("+")[0],
        "shape": {"batch": BATCH, "steps": STEPS, "features": FEATURES, "units": UNITS},
        "cases": cases,
    }
    with open(out_path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
