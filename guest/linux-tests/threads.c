/* threads: pthreads and the calls under them — clone, futex, exit of one thread, gettid, tgkill, per-thread signal
 * masks and TLS — from inside the guest. Run as `/tests/threads-static` (no arguments).
 *
 * Snapfn runs the threads on one vCPU and switches them when one waits or its time slice ends; every check here is
 * also a plain Linux program's expectation, so it passes natively. Checks are printed by the main thread, after
 * the threads they are about have been joined. */
#include "lt.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define ARCH_GET_FS 0x1003

static long futex(atomic_int *word, int op, int val, const struct timespec *timeout, unsigned bitset)
{
    return syscall(SYS_futex, word, op, val, timeout, NULL, bitset);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return lt_ts_ns(&ts);
}

/* --- create, join, gettid, TLS ------------------------------------------------------------------------------- */

static _Thread_local int tls_value = 7;

struct identity {
    long tid;
    long pid;
    unsigned long fs;
    int tls_before;
    int *tls_address;
};

static void *identify(void *arg)
{
    struct identity *id = arg;
    id->tid = syscall(SYS_gettid);
    id->pid = getpid();
    syscall(SYS_arch_prctl, ARCH_GET_FS, &id->fs);
    id->tls_before = tls_value; /* a new thread's TLS starts from the initial image, not the creator's value */
    tls_value = 99;
    id->tls_address = &tls_value;
    return (void *)0x5eed;
}

static void check_create_join_and_tls(void)
{
    tls_value = 11;
    unsigned long main_fs = 0;
    syscall(SYS_arch_prctl, ARCH_GET_FS, &main_fs);
    struct identity id = {0};
    pthread_t t;
    int r = pthread_create(&t, NULL, identify, &id);
    void *result = NULL;
    int j = r == 0 ? pthread_join(t, &result) : -1;
    lt_check("pthread-create-join", r == 0 && j == 0 && result == (void *)0x5eed, "create %d, join %d, result %p", r, j, result);
    long main_tid = syscall(SYS_gettid);
    lt_check("gettid-per-thread", main_tid == getpid() && id.tid > 0 && id.tid != main_tid && id.pid == getpid(),
             "main tid %ld pid %d, thread tid %ld pid %ld", main_tid, (int)getpid(), id.tid, id.pid);
    lt_check("tls-per-thread", id.tls_before == 7 && tls_value == 11 && id.tls_address != &tls_value,
             "thread saw %d first, main has %d", id.tls_before, tls_value);
    lt_check("fs-base-per-thread", id.fs != 0 && id.fs != main_fs, "thread FS 0x%lx, main FS 0x%lx", id.fs, main_fs);
}

/* --- a mutex and a condition variable: two threads take turns ------------------------------------------------- */

#define PING_PONG_ROUNDS 1000

static pthread_mutex_t turn_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_changed = PTHREAD_COND_INITIALIZER;
static int turn;       /* whose turn: 0 or 1 */
static int turns_done; /* turns taken, both threads together */
static int out_of_turn;

static void *take_turns(void *arg)
{
    int me = (int)(intptr_t)arg;
    for (int i = 0; i < PING_PONG_ROUNDS; i++) {
        pthread_mutex_lock(&turn_lock);
        while (turn != me)
            pthread_cond_wait(&turn_changed, &turn_lock);
        if (turns_done % 2 != me)
            out_of_turn++;
        turns_done++;
        turn = 1 - me;
        pthread_cond_signal(&turn_changed);
        pthread_mutex_unlock(&turn_lock);
    }
    return NULL;
}

static void check_ping_pong(void)
{
    pthread_t a, b;
    int ra = pthread_create(&a, NULL, take_turns, (void *)0);
    int rb = pthread_create(&b, NULL, take_turns, (void *)1);
    if (ra == 0)
        pthread_join(a, NULL);
    if (rb == 0)
        pthread_join(b, NULL);
    lt_check("mutex-condvar-ping-pong", ra == 0 && rb == 0 && turns_done == 2 * PING_PONG_ROUNDS && out_of_turn == 0,
             "create %d %d, %d turns taken (want %d), %d out of turn", ra, rb, turns_done, 2 * PING_PONG_ROUNDS, out_of_turn);
}

/* --- futex: values, timeouts, a wake from another thread, requeue --------------------------------------------- */

static atomic_int wake_word;
static atomic_int waiter_ready;

static void *set_and_wake(void *arg)
{
    (void)arg;
    /* Wait until the main thread is about to wait (it may still be on its way into the call: the value check
     * covers that race), then change the word and wake it. */
    while (!atomic_load(&waiter_ready))
        sched_yield();
    atomic_store(&wake_word, 1);
    futex(&wake_word, FUTEX_WAKE_PRIVATE, 1, NULL, 0);
    return NULL;
}

static void check_futex(void)
{
    atomic_int word = 5;
    errno = 0;
    lt_sys_errno("futex-wait-other-value-eagain", futex(&word, FUTEX_WAIT_PRIVATE, 4, NULL, 0), EAGAIN);

    struct timespec rel = {0, 20 * LT_MS};
    int64_t start = now_ns();
    long r = futex(&word, FUTEX_WAIT_PRIVATE, 5, &rel, 0);
    int err = errno;
    int64_t took = now_ns() - start;
    lt_check("futex-wait-relative-timeout", r == -1 && err == ETIMEDOUT && took >= 20 * LT_MS, "returned %ld (%s) after %lld ms",
             r, lt_errname(err), (long long)(took / LT_MS));

    struct timespec abs;
    clock_gettime(CLOCK_MONOTONIC, &abs);
    start = lt_ts_ns(&abs);
    abs.tv_nsec += 20 * LT_MS;
    if (abs.tv_nsec >= LT_NS_PER_SEC) {
        abs.tv_sec++;
        abs.tv_nsec -= LT_NS_PER_SEC;
    }
    r = futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 5, &abs, FUTEX_BITSET_MATCH_ANY);
    err = errno;
    took = now_ns() - start;
    lt_check("futex-wait-bitset-absolute-timeout", r == -1 && err == ETIMEDOUT && took >= 20 * LT_MS,
             "returned %ld (%s) after %lld ms", r, lt_errname(err), (long long)(took / LT_MS));

    lt_sys_errno("futex-wait-bitset-zero-einval", futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 5, NULL, 0), EINVAL);
    lt_check("futex-wake-nobody", futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL, 0) == 0, "woke someone");
    lt_sys_errno("futex-cmp-requeue-other-value-eagain", syscall(SYS_futex, &word, FUTEX_CMP_REQUEUE_PRIVATE, 1, 1, &wake_word, 4),
                 EAGAIN);

    atomic_store(&wake_word, 0);
    pthread_t t;
    int c = pthread_create(&t, NULL, set_and_wake, NULL);
    atomic_store(&waiter_ready, 1);
    long waits = 0;
    while (c == 0 && atomic_load(&wake_word) == 0) {
        r = futex(&wake_word, FUTEX_WAIT_PRIVATE, 0, NULL, 0);
        waits++;
        if (r == -1 && errno != EAGAIN && errno != EINTR)
            break;
    }
    if (c == 0)
        pthread_join(t, NULL);
    lt_check("futex-woken-by-another-thread", c == 0 && atomic_load(&wake_word) == 1 && waits >= 1, "create %d, word %d after %ld waits",
             c, atomic_load(&wake_word), waits);
}

/* --- signals: tgkill to one thread, per-thread masks ---------------------------------------------------------- */

static atomic_long handled_on; /* the tid the SIGUSR1 handler ran on */
static atomic_int target_tid;
static atomic_int target_mask_had_usr2;

static void on_usr1(int signal)
{
    (void)signal;
    atomic_store(&handled_on, syscall(SYS_gettid));
}

static void *wait_for_usr1(void *arg)
{
    (void)arg;
    sigset_t mask;
    pthread_sigmask(SIG_SETMASK, NULL, &mask);
    atomic_store(&target_mask_had_usr2, sigismember(&mask, SIGUSR2));
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR2);
    pthread_sigmask(SIG_UNBLOCK, &mask, NULL); /* only this thread's mask changes */
    atomic_store(&target_tid, (int)syscall(SYS_gettid));
    /* Waits on a futex no one wakes: only the signal ends it (EINTR, the handler installed without SA_RESTART). */
    atomic_int never = 0;
    while (atomic_load(&handled_on) == 0)
        futex(&never, FUTEX_WAIT_PRIVATE, 0, NULL, 0);
    return NULL;
}

static void check_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &usr2, NULL);

    pthread_t t;
    int c = pthread_create(&t, NULL, wait_for_usr1, NULL);
    while (c == 0 && atomic_load(&target_tid) == 0)
        sched_yield();
    long r = c == 0 ? syscall(SYS_tgkill, getpid(), atomic_load(&target_tid), SIGUSR1) : -1;
    if (c == 0)
        pthread_join(t, NULL);
    lt_check("tgkill-to-a-thread-runs-its-handler-there", c == 0 && r == 0 && atomic_load(&handled_on) == atomic_load(&target_tid) &&
                                                             atomic_load(&handled_on) != syscall(SYS_gettid),
             "create %d, tgkill %ld, handler ran on %ld, target %d, main %ld", c, r, atomic_load(&handled_on), atomic_load(&target_tid),
             syscall(SYS_gettid));
    sigset_t now;
    pthread_sigmask(SIG_SETMASK, NULL, &now);
    lt_check("signal-mask-per-thread", atomic_load(&target_mask_had_usr2) == 1 && sigismember(&now, SIGUSR2) == 1,
             "the thread inherited SIGUSR2 blocked: %d; main still blocks it after the thread unblocked it: %d",
             atomic_load(&target_mask_had_usr2), sigismember(&now, SIGUSR2));
    lt_sys_errno("tgkill-no-such-thread-esrch", syscall(SYS_tgkill, getpid(), 999999, SIGUSR1), ESRCH);
    pthread_sigmask(SIG_UNBLOCK, &usr2, NULL);
}

/* --- many threads; one that never makes a system call --------------------------------------------------------- */

#define MANY 64
#define INCREMENTS 100

static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
static long count;

static void *increment(void *arg)
{
    (void)arg;
    for (int i = 0; i < INCREMENTS; i++) {
        pthread_mutex_lock(&count_lock);
        long seen = count;
        sched_yield(); /* invite another thread in while the lock is held */
        count = seen + 1;
        pthread_mutex_unlock(&count_lock);
    }
    return NULL;
}

static void check_many_threads(void)
{
    pthread_t threads[MANY];
    int created = 0;
    for (int i = 0; i < MANY; i++)
        if (pthread_create(&threads[i], NULL, increment, NULL) == 0)
            created++;
        else
            break;
    for (int i = 0; i < created; i++)
        pthread_join(threads[i], NULL);
    lt_check("many-threads", created == MANY && count == (long)MANY * INCREMENTS, "%d of %d created, count %ld (want %ld)", created,
             MANY, count, (long)MANY * INCREMENTS);
}

static atomic_int stop_spinning;
static atomic_long spins;

static void *spin(void *arg)
{
    (void)arg;
    while (!atomic_load_explicit(&stop_spinning, memory_order_relaxed))
        atomic_fetch_add_explicit(&spins, 1, memory_order_relaxed);
    return NULL;
}

static void check_time_slice(void)
{
    /* The spinning thread makes no system call: on one vCPU only a time slice lets the main thread's sleep end. */
    pthread_t t;
    int c = pthread_create(&t, NULL, spin, NULL);
    struct timespec pause = {0, 30 * LT_MS};
    nanosleep(&pause, NULL);
    atomic_store(&stop_spinning, 1);
    if (c == 0)
        pthread_join(t, NULL);
    lt_check("a-thread-that-never-waits-is-preempted", c == 0 && atomic_load(&spins) > 0, "create %d, %ld spins", c,
             atomic_load(&spins));
}

/* --- exit of one thread ---------------------------------------------------------------------------------------- */

static void *exit_raw(void *arg)
{
    (void)arg;
    /* pthread_exit, as glibc does it in the end: the exit system call ends this thread only. */
    pthread_exit((void *)0x77);
}

static void check_thread_exit(void)
{
    pthread_t t;
    void *result = NULL;
    int c = pthread_create(&t, NULL, exit_raw, NULL);
    int j = c == 0 ? pthread_join(t, &result) : -1;
    lt_check("pthread-exit-ends-one-thread", c == 0 && j == 0 && result == (void *)0x77, "create %d, join %d, result %p", c, j, result);

    pthread_attr_t detached;
    pthread_attr_init(&detached);
    pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED);
    atomic_store(&stop_spinning, 1);
    c = pthread_create(&t, &detached, spin, NULL);
    lt_check("detached-thread", c == 0, "create %d", c);
    pthread_attr_destroy(&detached);
}

int main(void)
{
    lt_init();
    check_create_join_and_tls();
    check_ping_pong();
    check_futex();
    check_signals();
    check_many_threads();
    check_time_slice();
    check_thread_exit();
    return lt_finish();
}
