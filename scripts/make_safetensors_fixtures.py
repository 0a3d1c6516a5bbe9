#!/usr/bin/env python3
"""Writes the safetensors fixtures of tests/unit/test_safetensors.c with the official writer.

The C tests read these committed files to check that aihw reads what Python's `safetensors`
package writes; the test suite itself never needs Python. Regenerate with

    python3 -m venv /tmp/stvenv && /tmp/stvenv/bin/pip install safetensors numpy
    /tmp/stvenv/bin/python scripts/make_safetensors_fixtures.py

Tensor bytes and layout are the same on every run (metadata key order may not be).
Values are exactly representable, so the C test can compare them with ==; keep the test's
expectations in step when you change them.
"""
import os

import numpy as np
from safetensors.numpy import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data",
                   "safetensors")


def main():
    os.makedirs(OUT, exist_ok=True)
    # F32 and I64 tensors with metadata: weight[i][j] = 0.25 * (3 i + j) - 1.
    save_file(
        {
            "weight": (np.arange(6, dtype=np.float32).reshape(2, 3) * 0.25 - 1.0),
            "bias": np.array([1.5, -2.0], dtype=np.float32),
            "steps": np.array([0, 1, -1, 2**40, -(2**62)], dtype=np.int64),
            "seed": np.array(1234567890123, dtype=np.int64),  # a scalar, shape []
        },
        os.path.join(OUT, "python_f32_i64.safetensors"),
        metadata={"format_version": "1", "producer": "make_safetensors_fixtures.py"},
    )
    # The other typed dtypes, a zero-size tensor, no metadata.
    save_file(
        {
            "f64": np.array([[0.1, -1e300], [2.5, 1.0 / 3.0]], dtype=np.float64),
            "i32": np.array([-7, 2**31 - 1, -(2**31)], dtype=np.int32),
            "u8": np.array([[[0, 1], [254, 255]]], dtype=np.uint8),
            "empty": np.zeros((0, 4), dtype=np.float32),
        },
        os.path.join(OUT, "python_mixed.safetensors"),
    )
    # No tensors, only metadata.
    save_file({}, os.path.join(OUT, "python_metadata_only.safetensors"),
              metadata={"note": "no tensors"})
    for name in os.listdir(OUT):  # the Rust writer creates files 0600
        os.chmod(os.path.join(OUT, name), 0o644)


if __name__ == "__main__":
    main()
