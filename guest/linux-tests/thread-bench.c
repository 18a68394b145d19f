/* thread-bench N: what threads cost. Prints `thread_start_join_ns X` (N pthread_create + pthread_join of a thread
 * that returns at once) and `futex_wake_to_run_ns Y` (N one-way hand-offs between two threads that take turns on a
 * futex word: one stores the other's turn and wakes it, then waits for its own; a hand-off is the time from a
 * wake to the woken thread running), both timed with CLOCK_MONOTONIC. */
#include "lt.h"

#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return lt_ts_ns(&ts);
}

static void *nothing(void *arg)
{
    return arg;
}

static atomic_int turn; /* 0: the main thread's, 1: the partner's */
static long rounds;

static void wait_for(int mine)
{
    int seen;
    while ((seen = atomic_load(&turn)) != mine)
        syscall(SYS_futex, &turn, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
}

static void hand_to(int other)
{
    atomic_store(&turn, other);
    syscall(SYS_futex, &turn, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *partner(void *arg)
{
    (void)arg;
    for (long i = 0; i < rounds; i++) {
        wait_for(1);
        hand_to(0);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    char *end = NULL;
    long n = argc == 2 ? strtol(argv[1], &end, 10) : 0;
    if (argc != 2 || *end != '\0' || n <= 0) {
        fprintf(stderr, "usage: %s N (a positive number of rounds)\n", argv[0]);
        return 2;
    }
    lt_init();

    int64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, nothing, NULL) != 0 || pthread_join(t, NULL) != 0) {
            fprintf(stderr, "pthread_create or pthread_join failed at round %ld\n", i);
            return 1;
        }
    }
    int64_t t1 = now_ns();
    printf("thread_start_join_ns %.1f\n", (double)(t1 - t0) / (double)n);

    rounds = n;
    pthread_t t;
    if (pthread_create(&t, NULL, partner, NULL) != 0)
        return 1;
    t0 = now_ns();
    for (long i = 0; i < n; i++) {
        hand_to(1);
        wait_for(0);
    }
    t1 = now_ns();
    pthread_join(t, NULL);
    printf("futex_wake_to_run_ns %.1f\n", (double)(t1 - t0) / (double)(2 * n));
    return lt_finish();
}
