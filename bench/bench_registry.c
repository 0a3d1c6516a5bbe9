/* Registry of the benchmark ops `aihw bench` knows (bench.h). */
#include "bench.h"

const cli_command bench_ops[] = {
    {"forward", "analog tile forward (default IO) vs bare cblas_sgemm of the same shape",
     bench_forward_run, bench_forward_usage},
    {"update", "pulsed analog tile update (BL 31, UM) vs cblas_sger per sample",
     bench_update_run, bench_update_usage},
    {"drift", "inference tile program + drift to 1 h vs memcpy of the same bytes",
     bench_drift_run, bench_drift_usage},
    {"lenet", "LeNet-5 training iteration (batch 64), ANALOG ConstantStep vs FP tiles",
     bench_lenet_run, bench_lenet_usage},
    {"mlp", "MLP 784-256-128-10 epoch on Fashion-MNIST, --rpu tiles vs FP tiles",
     bench_mlp_run, bench_mlp_usage},
    {"realistic", "realistic write (closed-loop pulsed programming) of a ConstantStep tile",
     bench_realistic_run, bench_realistic_usage},
    {"compound", "Tiki-Taka (TTv1, TTv2) tile update vs the single-device update",
     bench_compound_run, bench_compound_usage},
};
const size_t bench_op_count = sizeof bench_ops / sizeof bench_ops[0];
