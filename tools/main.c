/* Entry point of the `aihw` command-line tool: finds the subcommand in argv[1] and hands
 * it the rest of the arguments. Handles the global forms itself: `aihw --version`,
 * `aihw --help`, `aihw help <command>`. An unknown subcommand prints the usage to stderr
 * and exits with status 2. The tool uses only the public API, plus a few private helpers
 * (random data) through tools/cli.c. */
#define _POSIX_C_SOURCE 200809L /* setenv, execv */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aihw/aihw.h"
#include "cli.h"

static const cli_command commands[] = {
    {"demo", "compare an analog tile's forward/backward with the exact product", cli_demo_run,
     cli_demo_usage},
    {"response", "pulse response of a device model (mean and std of K devices)",
     cli_response_run, cli_response_usage},
    {"train", "train a network on Fashion-MNIST, per-epoch loss and test accuracy",
     cli_train_run, cli_train_usage},
    {"infer", "accuracy of a trained network after programming and drift", cli_infer_run,
     cli_infer_usage},
    {"bench", "benchmarks, each against its floor (aihw bench <op>)", cli_bench_run,
     cli_bench_usage},
};
static const size_t command_count = sizeof commands / sizeof commands[0];

static void usage(FILE *out) {
  fprintf(out, "usage: aihw <command> [options]\n"
               "       aihw help <command>\n"
               "       aihw --version | --help\n"
               "\n"
               "commands:\n");
  for (size_t k = 0; k < command_count; ++k)
    fprintf(out, "  %-8s %s\n", commands[k].name, commands[k].summary);
  fprintf(out, "  %-8s %s\n", "help", "show the options of a command");
  fprintf(out, "\n'aihw <command> --help' shows the options of a command.\n");
}

/* OpenMP threads that wait for work spin by default (libgomp). On a machine with other
 * work that is ruinous: on this project's 2-core development machine, with one other busy
 * process, a pulsed MLP epoch at 2 threads took 6.1 s spinning against 2.5 s passive (and
 * 3.3 s at 1 thread); on the idle machine spinning wins by about 20 % (2.0 s). The tool
 * takes the robust choice: it sets OMP_WAIT_POLICY=passive and re-executes itself once
 * (the runtime reads the variable before main), unless the user chose a policy (the
 * variable is set; OMP_WAIT_POLICY=active for benchmarks on an idle machine) or the
 * re-execution fails (then it goes on as it is). */
static void prefer_passive_waiting(char **argv) {
  if (getenv("OMP_WAIT_POLICY") != NULL)
    return;
  if (setenv("OMP_WAIT_POLICY", "passive", 1) != 0)
    return;
  execv("/proc/self/exe", argv);
}

static const cli_command *find_command(const char *name) {
  for (size_t k = 0; k < command_count; ++k)
    if (strcmp(commands[k].name, name) == 0)
      return &commands[k];
  return NULL;
}

int main(int argc, char **argv) {
  prefer_passive_waiting(argv);
  if (argc < 2) {
    usage(stderr);
    return CLI_EXIT_USAGE;
  }
  const char *name = argv[1];
  if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0 ||
      strcmp(name, "version") == 0) {
    printf("aihw %s\n", aihw_version_string());
    return CLI_EXIT_OK;
  }
  if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
    usage(stdout);
    return CLI_EXIT_OK;
  }
  if (strcmp(name, "help") == 0) {
    if (argc < 3) {
      usage(stdout);
      return CLI_EXIT_OK;
    }
    const cli_command *cmd = find_command(argv[2]);
    if (cmd == NULL) {
      fprintf(stderr, "aihw help: unknown command '%s'\n\n", argv[2]);
      usage(stderr);
      return CLI_EXIT_USAGE;
    }
    if (argc > 3) /* `aihw help bench forward` = `aihw bench forward --help` */
      return cmd->run(3, (char *[]){argv[2], argv[3], "--help", NULL});
    cmd->usage(stdout);
    return CLI_EXIT_OK;
  }
  const cli_command *cmd = find_command(name);
  if (cmd == NULL) {
    fprintf(stderr, "aihw: unknown command '%s'\n\n", name);
    usage(stderr);
    return CLI_EXIT_USAGE;
  }
  return cmd->run(argc - 1, argv + 1);
}
