"""Hardware-aware training with aihwkit's StandardHWATrainingPreset (fixture
tests/data/aihwkit/training_hwa.json).

Recipe: AnalogSequential(AnalogLinear(784, 256), ACT, AnalogLinear(256, 128), ACT,
AnalogLinear(128, 10), LogSoftmax) with every layer on StandardHWATrainingPreset()
(INFERENCE tiles, columnwise weight scaling, learned output scales, input-range learning,
PCM_READ weight noise, §8.2 of the reference), NLL loss, AnalogSGD lr 0.05, batch 8, one
epoch over the first 2000 Fashion-MNIST training images (pixels / 255) in a fresh
torch.randperm order, test accuracy on the first 1000 test images (evaluation mode, no
drift). ACT = ReLU and Sigmoid; seeds 1-5 each (torch.manual_seed). One thread.

The sigmoid network stays at chance in aihwkit: the input ranges initialised from data
(3 std of the sigmoid outputs) clip the hidden layers to nearly constant inputs. The
fixture records that as well, since aihw must reproduce it.

Usage: /work/aihwkit-venv/bin/python scripts/aihwkit/crosscheck_hwa_training.py [DATA_DIR]
"""

import sys

from crosscheck_training import load
from xc_common import require_aihwkit, sig, single_thread, versions, write_fixture

SEEDS = (1, 2, 3, 4, 5)
N_TRAIN, N_TEST, BATCH, LR = 2000, 1000, 8, 0.05


def run(seed, activation, data):
    import torch
    from aihwkit.nn import AnalogLinear, AnalogSequential
    from aihwkit.optim import AnalogSGD
    from aihwkit.simulator.presets import StandardHWATrainingPreset

    xtr, ytr, xte, yte = data
    torch.manual_seed(seed)
    rpu = StandardHWATrainingPreset()
    act = torch.nn.ReLU if activation == "relu" else torch.nn.Sigmoid
    model = AnalogSequential(
        AnalogLinear(784, 256, True, rpu_config=rpu), act(),
        AnalogLinear(256, 128, True, rpu_config=rpu), act(),
        AnalogLinear(128, 10, True, rpu_config=rpu), torch.nn.LogSoftmax(dim=1))
    opt = AnalogSGD(model.parameters(), lr=LR)
    opt.regroup_param_groups(model)
    nll = torch.nn.NLLLoss()
    order = torch.randperm(N_TRAIN)
    model.train()
    total = 0.0
    for first in range(0, N_TRAIN, BATCH):
        idx = order[first : first + BATCH]
        opt.zero_grad()
        loss = nll(model(xtr[idx]), ytr[idx])
        loss.backward()
        opt.step()
        total += loss.item() * len(idx)
    model.eval()
    with torch.no_grad():
        accuracy = (model(xte).argmax(1) == yte).float().mean().item()
    print("%s seed %d: loss %.4f, test accuracy %.2f %%"
          % (activation, seed, total / N_TRAIN, 100.0 * accuracy), flush=True)
    return {"seed": seed, "loss": sig(total / N_TRAIN), "test_accuracy": sig(100.0 * accuracy)}


def main():
    require_aihwkit()
    single_thread()
    data_dir = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
    xtr, ytr, xte, yte = load(data_dir)
    data = (xtr[:N_TRAIN], ytr[:N_TRAIN], xte[:N_TEST], yte[:N_TEST])
    fixture = {
        "generator": "scripts/aihwkit/crosscheck_hwa_training.py",
        "versions": versions(),
        "recipe": {"network": "784-256-128-10 (ACT) LogSoftmax NLL, every layer on "
                              "StandardHWATrainingPreset", "lr": LR, "batch": BATCH,
                   "epochs": 1, "train_images": N_TRAIN, "test_images": N_TEST,
                   "threads": 1},
        "relu": [run(seed, "relu", data) for seed in SEEDS],
        "sigmoid": [run(seed, "sigmoid", data) for seed in SEEDS],
    }
    write_fixture("training_hwa.json", fixture)


if __name__ == "__main__":
    main()
