#!/usr/bin/env python3
"""Writes PyTorch parameter fixtures for tests/unit/test_torch.c (aihw_module_load_torch).

Each network is a torch nn.Sequential with seeded default initialisation; its state_dict()
is saved with safetensors.torch.save_file (F32, and F16/BF16 copies for the small MLP),
and a batch of inputs with torch's outputs goes to a separate "<name>_io" file, so that
the C test checks that aihw, given the same parameters, computes what torch computes.
The test suite never needs Python. Regenerate with the aihwkit venv (torch + safetensors):

    /work/aihwkit-venv/bin/python scripts/aihwkit/make_torch_fixtures.py
"""
import gzip
import os

import numpy as np
import torch
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data",
                   "torch")


def save(name, model, x):
    model.eval()
    with torch.no_grad():
        y = model(x)
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, os.path.join(OUT, name + ".safetensors"))
    save_file({"x": x.contiguous(), "y": y.contiguous()},
              os.path.join(OUT, name + "_io.safetensors"))
    return state


def fashion_mnist(prefix):
    root = "/usr/share/datasets/fashion-mnist"
    with gzip.open(f"{root}/{prefix}-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)
    with gzip.open(f"{root}/{prefix}-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)
    return torch.tensor(x, dtype=torch.float32) / 255.0, torch.tensor(y, dtype=torch.int64)


def trained_mlp():
    """aihw's --arch mlp trained in torch (2 epochs of Adam): weights for `aihw infer
    --arch mlp --weights`, stored as F16 to keep the fixture small."""
    torch.manual_seed(42)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 256), torch.nn.Sigmoid(), torch.nn.Linear(256, 128),
        torch.nn.Sigmoid(), torch.nn.Linear(128, 10), torch.nn.LogSoftmax(dim=1))
    x, y = fashion_mnist("train")
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(2):
        perm = torch.randperm(len(x))
        for k in range(0, len(x), 64):
            idx = perm[k:k + 64]
            opt.zero_grad()
            loss = torch.nn.functional.nll_loss(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
    xt, yt = fashion_mnist("t10k")
    with torch.no_grad():
        acc = (model(xt).argmax(1) == yt).float().mean().item() * 100
        acc16 = None
        state = {k: v.detach().half().contiguous() for k, v in model.state_dict().items()}
        model.load_state_dict({k: v.float() for k, v in state.items()})
        acc16 = (model(xt).argmax(1) == yt).float().mean().item() * 100
    print(f"mlp_fashion_f16: test accuracy {acc:.2f} % (F32), {acc16:.2f} % (F16 weights)")
    save_file(state, os.path.join(OUT, "mlp_fashion_f16.safetensors"))


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(1234)
    mlp = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Sigmoid(), torch.nn.Linear(5, 3))
    state = save("mlp_small", mlp, torch.rand(4, 6))
    save_file({k: v.half() for k, v in state.items()},
              os.path.join(OUT, "mlp_small_f16.safetensors"))
    save_file({k: v.bfloat16() for k, v in state.items()},
              os.path.join(OUT, "mlp_small_bf16.safetensors"))
    torch.manual_seed(5678)
    lenet = torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 5), torch.nn.Tanh(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 5), torch.nn.Tanh(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(512, 128), torch.nn.Tanh(),
        torch.nn.Linear(128, 10), torch.nn.LogSoftmax(dim=1))
    save("lenet5", lenet, torch.rand(2, 1, 28, 28))
    trained_mlp()


if __name__ == "__main__":
    main()
