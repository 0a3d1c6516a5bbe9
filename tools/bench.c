/* `aihw bench [<op> [options]]`: runs one benchmark op from the registry in bench/, or,
 * without an op, lists them. Each op prints a table, or with --json one JSON object per
 * case and line, always with the op's floor measured in the same run (docs/cli.md). */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "cli.h"

void cli_bench_usage(FILE *out) {
  fprintf(out, "usage: aihw bench <op> [--json] [--quick] [--repeats N] [--threads N] "
               "[--seed N]\n"
               "\n"
               "ops:\n");
  for (size_t k = 0; k < bench_op_count; ++k)
    fprintf(out, "  %-8s %s\n", bench_ops[k].name, bench_ops[k].summary);
  fprintf(out, "\n'aihw bench <op> --help' shows the options of an op.\n");
}

int cli_bench_run(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    cli_bench_usage(stdout);
    return CLI_EXIT_OK;
  }
  for (size_t k = 0; k < bench_op_count; ++k)
    if (strcmp(bench_ops[k].name, argv[1]) == 0)
      return bench_ops[k].run(argc - 1, argv + 1);
  fprintf(stderr, "aihw bench: unknown op '%s'\n\n", argv[1]);
  cli_bench_usage(stderr);
  return CLI_EXIT_USAGE;
}
