"""Training curves of aihwkit's MNIST example network on Fashion-MNIST (fixture
tests/data/aihwkit/training_mlp.json).

Recipe (issue 5's target configuration): AnalogSequential(AnalogLinear(784, 256), Sigmoid,
AnalogLinear(256, 128), Sigmoid, AnalogLinear(128, 10), LogSoftmax), NLL loss, AnalogSGD
lr 0.05, batch 64, pixels / 255, every layer with SingleRPUConfig(device=
ConstantStepDevice()) (aihwkit's defaults otherwise: 512 x 512 tile mapping, digital bias,
default IO and update parameters), torch's default Linear initialisation, a fresh
torch.randperm order per epoch. One thread. Seeds 1, 2, 3 (torch.manual_seed), EPOCHS
epochs each; the same network on FloatingPointRPUConfig with seed 1 for reference.

Recorded per run: the running mean of the training loss after every 100 batches, the
mean training loss and the test accuracy (all 10000 test images) after every epoch, and
the epoch's wall time on this machine (informative only: the machine was shared).

Usage: /work/aihwkit-venv/bin/python scripts/aihwkit/crosscheck_training.py [DATA_DIR]
(DATA_DIR: the Fashion-MNIST IDX files, default /usr/share/datasets/fashion-mnist).
"""

import gzip
import os
import struct
import sys
import time

from xc_common import require_aihwkit, sig, sig_list, single_thread, versions, write_fixture

EPOCHS = 2
SEEDS = (1, 2, 3)
CURVE_EVERY = 100


def read_idx(path):
    import numpy as np

    with gzip.open(path) if path.endswith(".gz") else open(path, "rb") as handle:
        data = handle.read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4 : 4 + 4 * dims])
    return np.frombuffer(data[4 + 4 * dims :], dtype=np.uint8).reshape(shape)


def load(data_dir):
    import numpy as np
    import torch

    def path(name):
        gz = os.path.join(data_dir, name + ".gz")
        return gz if os.path.exists(gz) else os.path.join(data_dir, name)

    def images(name):
        arr = read_idx(path(name)).reshape(-1, 784).astype(np.float32) / np.float32(255.0)
        return torch.from_numpy(arr)

    def labels(name):
        return torch.from_numpy(read_idx(path(name)).astype(np.int64))

    return (images("train-images-idx3-ubyte"), labels("train-labels-idx1-ubyte"),
            images("t10k-images-idx3-ubyte"), labels("t10k-labels-idx1-ubyte"))


def run(seed, analog, data):
    import torch
    from aihwkit.nn import AnalogLinear, AnalogSequential
    from aihwkit.optim import AnalogSGD
    from aihwkit.simulator.configs import FloatingPointRPUConfig, SingleRPUConfig
    from aihwkit.simulator.configs.devices import ConstantStepDevice

    xtr, ytr, xte, yte = data
    torch.manual_seed(seed)
    rpu = SingleRPUConfig(device=ConstantStepDevice()) if analog else FloatingPointRPUConfig()
    model = AnalogSequential(
        AnalogLinear(784, 256, True, rpu_config=rpu), torch.nn.Sigmoid(),
        AnalogLinear(256, 128, True, rpu_config=rpu), torch.nn.Sigmoid(),
        AnalogLinear(128, 10, True, rpu_config=rpu), torch.nn.LogSoftmax(dim=1))
    opt = AnalogSGD(model.parameters(), lr=0.05)
    opt.regroup_param_groups(model)
    nll = torch.nn.NLLLoss()
    n = xtr.shape[0]
    epochs = []
    for epoch in range(EPOCHS):
        order = torch.randperm(n)
        model.train()
        total, seen, curve = 0.0, 0, []
        start = time.time()
        for k, first in enumerate(range(0, n, 64)):
            idx = order[first : first + 64]
            opt.zero_grad()
            loss = nll(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            seen += len(idx)
            if (k + 1) % CURVE_EVERY == 0:
                curve.append(total / seen)
        seconds = time.time() - start
        model.eval()
        with torch.no_grad():
            accuracy = (model(xte).argmax(1) == yte).float().mean().item()
        epochs.append({"epoch": epoch + 1, "loss": sig(total / seen),
                       "test_accuracy": sig(100.0 * accuracy), "curve": sig_list(curve),
                       "seconds": sig(seconds, 3)})
        print("seed %d %s epoch %d: loss %.4f, test accuracy %.2f %%, %.1f s"
              % (seed, "ConstantStep" if analog else "FP", epoch + 1, total / seen,
                 100.0 * accuracy, seconds), flush=True)
    return {"seed": seed, "epochs": epochs}


def main():
    require_aihwkit()
    single_thread()
    data_dir = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
    data = load(data_dir)
    fixture = {
        "generator": "scripts/aihwkit/crosscheck_training.py",
        "versions": versions(),
        "recipe": {"network": "784-256-128-10 sigmoid LogSoftmax NLL", "lr": 0.05,
                   "batch": 64, "epochs": EPOCHS, "curve_every_batches": CURVE_EVERY,
                   "data": "Fashion-MNIST, pixels / 255, all 60000 / 10000",
                   "threads": 1},
        "constant_step": [run(seed, True, data) for seed in SEEDS],
        "floating_point": [run(1, False, data)],
    }
    write_fixture("training_mlp.json", fixture)


if __name__ == "__main__":
    main()
