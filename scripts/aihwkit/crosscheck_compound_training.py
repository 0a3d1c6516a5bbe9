"""Learning statistics of the in-memory training algorithms in aihwkit (writes
tests/data/aihwkit/compound_training.json; tests/stats/test_aihwkit_compound_training.c
compares aihw's statistics with it).

Task (as tests/stats/test_tiki_taka.c, without label noise): linear regression y = W* x on
a 4 x 8 tile, W* ~ U(-0.6, 0.6) and x ~ U(-1, 1)^8 drawn with the xorshift32 generator of
the C test (state 99 for W*, 4242 for the data; uniform = (s >> 8) 2^-24, exact in float
on both sides), so both simulators see the same targets and the same inputs; mini-batches
of 1, STEPS steps, d = y_pred - y, perfect forward/backward, initial weights 0. The loss
is the exact test MSE of the weights on 256 fixed inputs (xorshift state 777), averaged
over the 10 evaluations of the last quarter of training.

Devices: SoftBoundsDevice(dw_min=0.01, w_max=1, w_min=-1) with aihwkit's default spreads
(dtod 0.3, ctoc 0.3); default UpdateParameters (BL 31, UM, UBLM). Algorithms:
  sgd    the single device, lr 0.05
  ttv2   ChoppedTransferCompound(in_chop_prob 0, auto_scale, fast_lr 0.1,
         auto_granularity 100, transfer_forward NM/BM NONE), lr 0.1
  agad   DynamicTransferCompound(in_chop_prob 0.1, auto_scale, fast_lr 0.5,
         auto_granularity 100, tail_weightening 5, transfer_forward NM/BM NONE), lr 0.1
  mixed  MixedPrecisionCompound defaults (DigitalRankUpdateRPUConfig), lr 0.02
Each algorithm runs SEEDS times (construction_seed = torch.manual_seed = 1 + k: different
devices and pulse trains, the same data). The fixture stores every final loss.
"""

import numpy as np

from xc_common import require_aihwkit, single_thread, versions, sig, write_fixture

require_aihwkit()
single_thread()

import torch  # noqa: E402
from aihwkit.simulator.tiles import AnalogTile  # noqa: E402
from aihwkit.simulator.configs import (  # noqa: E402
    DigitalRankUpdateRPUConfig,
    SingleRPUConfig,
    UnitCellRPUConfig,
)
from aihwkit.simulator.configs.compounds import (  # noqa: E402
    ChoppedTransferCompound,
    DynamicTransferCompound,
    MixedPrecisionCompound,
)
from aihwkit.simulator.configs.devices import SoftBoundsDevice  # noqa: E402
from aihwkit.simulator.parameters import IOParameters  # noqa: E402
from aihwkit.simulator.parameters.enums import (  # noqa: E402
    BoundManagementType,
    NoiseManagementType,
)

OUT, IN, N_TEST, STEPS, SEEDS = 4, 8, 256, 2000, 24


class XorShift:
    def __init__(self, state):
        self.s = state

    def uniform(self):
        x = self.s
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.s = x
        return np.float32(x >> 8) * np.float32(2.0**-24)


def device(seed):
    return SoftBoundsDevice(dw_min=0.01, w_max=1.0, w_min=-1.0, construction_seed=seed)


def transfer_forward():
    return IOParameters(noise_management=NoiseManagementType.NONE,
                        bound_management=BoundManagementType.NONE)


def config(kind, seed):
    if kind == "sgd":
        rc = SingleRPUConfig(device=device(seed))
    elif kind == "ttv2":
        rc = UnitCellRPUConfig(device=ChoppedTransferCompound(
            unit_cell_devices=[device(seed), device(seed)], in_chop_prob=0.0, auto_scale=True,
            fast_lr=0.1, auto_granularity=100.0, transfer_forward=transfer_forward()))
    elif kind == "agad":
        rc = UnitCellRPUConfig(device=DynamicTransferCompound(
            unit_cell_devices=[device(seed), device(seed)], in_chop_prob=0.1, auto_scale=True,
            fast_lr=0.5, auto_granularity=100.0, tail_weightening=5.0,
            transfer_forward=transfer_forward()))
    else:
        rc = DigitalRankUpdateRPUConfig(device=MixedPrecisionCompound(device=device(seed)))
    rc.forward.is_perfect = True
    rc.backward.is_perfect = True
    return rc


LR = {"sgd": 0.05, "ttv2": 0.1, "agad": 0.1, "mixed": 0.02}


def test_set():
    g = XorShift(777)
    return np.array([[g.uniform() * np.float32(2) - np.float32(1) for _ in range(IN)]
                     for _ in range(N_TEST)], dtype=np.float64)


def train(kind, seed, target, xs_test):
    torch.manual_seed(seed)
    tile = AnalogTile(OUT, IN, config(kind, seed))
    tile.set_learning_rate(LR[kind])
    tile.set_weights(torch.zeros(OUT, IN))
    g = XorShift(4242)
    tail, n_tail = 0.0, 0
    for step in range(STEPS):
        x = np.array([[g.uniform() * np.float32(2) - np.float32(1) for _ in range(IN)]],
                     dtype=np.float32)
        xt = torch.tensor(x)
        with torch.no_grad():
            y = tile.forward(xt).numpy()
        yt = (target.astype(np.float32) @ x[0]).astype(np.float32)
        d = (y - yt[None, :]).astype(np.float32)
        tile.update(xt, torch.tensor(d))
        if (step + 1) % (STEPS // 40) == 0 and step + 1 > STEPS - STEPS // 4:
            w = tile.get_weights()[0].numpy().astype(np.float64)
            e = xs_test @ (w - target).T
            tail += float(np.mean(e * e))
            n_tail += 1
    return tail / n_tail


def main():
    g = XorShift(99)
    target = np.array([[np.float32(0.6) * (g.uniform() * np.float32(2) - np.float32(1))
                        for _ in range(IN)] for _ in range(OUT)], dtype=np.float32)
    xs_test = test_set()
    result = {"generator": "scripts/aihwkit/crosscheck_compound_training.py",
              "versions": versions(), "steps": STEPS, "seeds": SEEDS, "lr": LR,
              "losses": {}}
    for kind in ("sgd", "ttv2", "agad", "mixed"):
        losses = [train(kind, 1 + k, target.astype(np.float64), xs_test) for k in range(SEEDS)]
        result["losses"][kind] = [sig(v) for v in losses]
        print("%-6s mean %.5f std %.5f" % (kind, np.mean(losses), np.std(losses, ddof=1)))
    write_fixture("compound_training.json", result)


if __name__ == "__main__":
    main()
