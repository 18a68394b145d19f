/* preempt: threads that compute without system calls are interrupted by the time slice and switched, and each
 * comes back with every register as it left it — general registers, flags, SSE and x87 — and no instruction run
 * twice or skipped. Run as `/tests/preempt-static` (no arguments).
 *
 * Each worker computes the same integer, flag-dependent and floating-point sums that the main thread computes
 * alone first, and adds to a shared counter with an atomic add per step: any register lost or restored stale at a
 * switch changes a sum or the counter. Passes natively as it must in the VM. */
#include "lt.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define WORKERS 3
#define STEPS 3000000L

static atomic_long shared_steps;

struct sums {
    uint64_t integer;
    uint64_t carries;
    double real;
    long double extended;
};

/* Keeps values in many registers at once, uses the carry flag across branches, SSE doubles and x87. */
static struct sums compute(uint64_t seed, int count_shared)
{
    uint64_t a = seed, b = seed ^ 0x9e3779b97f4a7c15ULL, c = 1, carries = 0;
    double real = 1.0;
    long double extended = 1.0L;
    for (long i = 0; i < STEPS; i++) {
        a = a * 6364136223846793005ULL + 1442695040888963407ULL;
        uint64_t sum;
        if (__builtin_add_overflow(b, a, &sum))
            carries++;
        b = sum ^ (a >> 29);
        c += (a < b) ? 3 : 5;
        real = real * 1.0000001 + (double)(a & 0xff) * 1e-9;
        if ((i & 1023) == 0)
            extended = extended * 1.0001L + (long double)(b & 0xffff) * 1e-12L;
        if (count_shared)
            atomic_fetch_add_explicit(&shared_steps, 1, memory_order_relaxed);
    }
    return (struct sums){a ^ b ^ c, carries, real, extended};
}

/* Spins without system calls until another thread sets `released`: only a time slice can let that thread run. */
static volatile int released;

static void __attribute__((noinline)) spin_until_released(void)
{
    while (!released) {
    }
}

static void *releaser(void *arg)
{
    (void)arg;
    released = 1;
    return NULL;
}

struct work {
    uint64_t seed;
    struct sums got;
};

static void *worker(void *arg)
{
    struct work *w = arg;
    w->got = compute(w->seed, 1);
    return NULL;
}

int main(void)
{
    lt_init();
    /* The spin's code runs once before the first thread exists, so an emulator has translated it already when time
     * slices begin: they must still stop it (the emulated CPU's block hook once missed code translated before it). */
    released = 1;
    spin_until_released();
    released = 0;
    pthread_t releasing;
    if (pthread_create(&releasing, NULL, releaser, NULL) == 0) {
        spin_until_released();
        pthread_join(releasing, NULL);
        lt_ok("time-slice-stops-code-translated-before-the-first-thread", "the releaser ran");
    } else {
        lt_fail("time-slice-stops-code-translated-before-the-first-thread", "pthread_create failed");
    }
    struct sums want[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        want[i] = compute(1000 + i, 0);

    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    struct work work[WORKERS];
    pthread_t threads[WORKERS];
    int created = 0;
    for (int i = 0; i < WORKERS; i++) {
        work[i].seed = 1000 + i;
        if (pthread_create(&threads[i], NULL, worker, &work[i]) == 0)
            created++;
    }
    for (int i = 0; i < created; i++)
        pthread_join(threads[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &end);

    int same = 0;
    for (int i = 0; i < created; i++) {
        int ok = work[i].got.integer == want[i].integer && work[i].got.carries == want[i].carries && work[i].got.real == want[i].real &&
                 work[i].got.extended == want[i].extended;
        if (!ok)
            printf("thread %d: integer %s, carries %s, double %s, long double %s\n", i, work[i].got.integer == want[i].integer ? "same" : "DIFFERENT",
                   work[i].got.carries == want[i].carries ? "same" : "DIFFERENT", work[i].got.real == want[i].real ? "same" : "DIFFERENT",
                   work[i].got.extended == want[i].extended ? "same" : "DIFFERENT");
        same += ok;
    }
    lt_check("preempted-threads-keep-their-registers", created == WORKERS && same == WORKERS, "%d of %d threads created, %d computed what one thread alone does",
             created, WORKERS, same);
    long steps = atomic_load(&shared_steps);
    lt_check("preempted-threads-run-each-instruction-once", steps == (long)WORKERS * STEPS, "%ld atomic steps (want %ld)", steps,
             (long)WORKERS * STEPS);
    return lt_finish();
}
