"""Writes test/fused/fixtures/torch_rnn.json: PyTorch (an independent implementation) GRU and LSTM
outputs and gradients, with weights converted to the Keras layout (KERAS_FACTS "Cells").
Run: /usr/bin/python3 scripts/torch_fused_fixtures.py   (torch 1.13, float64)"""
import json, os
import torch

torch.manual_seed(0)
B, T, F, U = 3, 5, 4, 6
out = {"B": B, "T": T, "F": F, "U": U, "cases": []}

def keras_gates(w, order):  # w: (G*U, in) torch rows in torch gate order -> keras (in, G*U)
    blocks = {name: w[i * U:(i + 1) * U] for i, name in enumerate(order)}
    return blocks

for kind in ["gru", "lstm"]:
    for go_backwards in [False, True]:
        net = (torch.nn.GRU if kind == "gru" else torch.nn.LSTM)(F, U, batch_first=True).double()
        x = torch.randn(B, T, F, dtype=torch.float64, requires_grad=True)
        h0 = (0.5 * torch.randn(1, B, U, dtype=torch.float64)).requires_grad_()
        c0 = (0.5 * torch.randn(1, B, U, dtype=torch.float64)).requires_grad_()
        xin = torch.flip(x, [1]) if go_backwards else x
        if kind == "gru":
            y, hT = net(xin, h0)
            states = [hT[0]]
        else:
            y, (hT, cT) = net(xin, (h0, c0))
            states = [hT[0], cT[0]]
        r_y = torch.randn(B, T, U, dtype=torch.float64)
        r_s = [torch.randn(B, U, dtype=torch.float64) for _ in states]
        loss = (y * r_y).sum() + sum((s * r).sum() for s, r in zip(states, r_s))
        loss.backward()
        wih, whh = net.weight_ih_l0, net.weight_hh_l0
        bih, bhh = net.bias_ih_l0, net.bias_hh_l0
        if kind == "gru":
            korder, torder = ["z", "r", "h"], ["r", "z", "h"]
        else:
            korder, torder = ["i", "f", "c", "o"], ["i", "f", "c", "o"]
        def conv(w):
            bl = {n: w[i * U:(i + 1) * U] for i, n in enumerate(torder)}
            return torch.cat([bl[n] for n in korder], 0)
        kernel = conv(wih).t()
        rkernel = conv(whh).t()
        if kind == "gru":
            bias = torch.stack([conv(bih), conv(bhh)], 0)
            dbias = torch.stack([conv(bih.grad), conv(bhh.grad)], 0)
        else:
            bias = conv(bih) + conv(bhh)
            dbias = conv(bih.grad)  # d/d(b_ih) == d/d(b_ih + b_hh)
        L = lambda t: t.detach().reshape(-1).tolist()
        out["cases"].append({
            "kind": kind, "go_backwards": go_backwards,
            "x": L(x), "h0": L(h0[0]), "c0": L(c0[0]),
            "kernel": L(kernel), "recurrent_kernel": L(rkernel), "bias": L(bias),
            "r_y": L(r_y), "r_s": [L(r) for r in r_s],
            "output": L(y), "states": [L(s) for s in states],
            "d_x": L(x.grad), "d_kernel": L(conv(wih.grad).t()), "d_recurrent_kernel": L(conv(whh.grad).t()),
            "d_bias": L(dbias), "d_h0": L(h0.grad[0]), "d_c0": L(c0.grad[0]) if kind == "lstm" else None,
        })

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fused", "fixtures", "torch_rnn.json")
with open(path, "w") as f:
    json.dump(out, f)
print("wrote", path)
