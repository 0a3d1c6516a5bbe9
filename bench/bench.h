/* The benchmark cases behind `aihw bench <op>`: one entry point per op, and the registry
 * that tools/bench.c dispatches over. A new benchmark is one bench/bench_<op>.c file using
 * bench_util.h, plus its line in bench/bench_registry.c. */
#ifndef AIHW_BENCH_H
#define AIHW_BENCH_H

#include <stddef.h>

#include "cli.h"

/* Registered ops, in the order `aihw bench` lists them. */
extern const cli_command bench_ops[];
extern const size_t bench_op_count;

/* bench_forward.c: analog tile forward vs bare sgemm of the same shape. */
int bench_forward_run(int argc, char **argv);
void bench_forward_usage(FILE *out);

/* bench_update.c: pulsed analog tile update vs floating-point rank-1 updates (sger). */
int bench_update_run(int argc, char **argv);
void bench_update_usage(FILE *out);

/* bench_drift.c: inference tile programming + drift vs memcpy of the same bytes. */
int bench_drift_run(int argc, char **argv);
void bench_drift_usage(FILE *out);

/* bench_lenet.c: LeNet-5 training iteration, ANALOG ConstantStep vs FLOATING_POINT tiles. */
int bench_lenet_run(int argc, char **argv);
void bench_lenet_usage(FILE *out);
/* bench_mlp.c: MLP training epoch on Fashion-MNIST, --rpu tiles vs FLOATING_POINT tiles. */
int bench_mlp_run(int argc, char **argv);
void bench_mlp_usage(FILE *out);

/* bench_realistic.c: realistic write of a ConstantStep tile vs the same loop on FP tiles. */
int bench_realistic_run(int argc, char **argv);
void bench_realistic_usage(FILE *out);

/* bench_compound.c: Tiki-Taka (TTv1, TTv2) tile update vs the single-device update. */
int bench_compound_run(int argc, char **argv);
void bench_compound_usage(FILE *out);

#endif
