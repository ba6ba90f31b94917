/* tput: runs per second of one command with N parallel workers for a bounded time.
 *
 * Usage: tput SECONDS WORKERS COMMAND [ARG...]
 * Each worker starts the command (posix_spawn, stdout/stderr to /dev/null) and
 * waits for it, back to back, until the shared deadline; a run still under way
 * at the deadline is left to finish, never killed (killing a bwrap monitor in
 * the middle of its setup leaves the sandbox's pid 1 hanging: bubblewrap #633).
 * Prints one line: "runs=N fails=N secs=S per_sec=R", with
 * R = runs / (time from the start to the end of the last run).
 * Built by bench/run.sh with `cc -O2`; a benchmark helper, not part of kakuri.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char* argv[]) {
    if (argc < 4) {
        fprintf(stderr, "usage: tput SECONDS WORKERS COMMAND [ARG...]\n");
        return 2;
    }
    double secs = atof(argv[1]);
    int workers = atoi(argv[2]);
    char** cmd = argv + 3;
    if (secs <= 0 || workers < 1 || workers > 64) {
        fprintf(stderr, "tput: bad SECONDS or WORKERS\n");
        return 2;
    }
    int pfd[2];
    if (pipe(pfd) != 0) return 2;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);

    double start = now(), deadline = start + secs;
    for (int w = 0; w < workers; ++w) {
        pid_t p = fork();
        if (p < 0) return 2;
        if (p > 0) continue;
        close(pfd[0]);
        long runs = 0, fails = 0;
        while (now() < deadline) {
            pid_t c;
            int st;
            if (posix_spawnp(&c, cmd[0], &fa, NULL, cmd, environ) != 0) {
                ++fails;
                break;
            }
            while (waitpid(c, &st, 0) < 0) {
            }
            ++runs;
            if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) ++fails;
        }
        char line[64];
        int n = snprintf(line, sizeof line, "%ld %ld\n", runs, fails);
        if (write(pfd[1], line, (size_t)n) != n) _exit(2);
        _exit(0);
    }
    close(pfd[1]);
    long runs = 0, fails = 0;
    FILE* f = fdopen(pfd[0], "r");
    long r, e;
    while (f && fscanf(f, "%ld %ld", &r, &e) == 2) {
        runs += r;
        fails += e;
    }
    while (wait(NULL) > 0) {
    }
    double elapsed = now() - start;
    printf("runs=%ld fails=%ld secs=%.3f per_sec=%.1f\n", runs, fails, elapsed, runs / elapsed);
    return fails ? 1 : 0;
}
