/* Shared by the hosted runtime tests: the runtime's functions under their sf_ names, glibc's under theirs. */
#ifndef SNAPFN_TEST_H
#define SNAPFN_TEST_H

#include "rename.h"
#include "snapfn.h"
#include "unrename.h"

#include <stdio.h>

void snapfn_heap_setup(uint64_t start, uint64_t end);

extern long test_checks, test_failures;

/* Counts a check; prints the first failures of each run with their location. */
#define CHECK(cond, ...)                                                                                              \
    do {                                                                                                              \
        test_checks++;                                                                                                \
        if (!(cond)) {                                                                                                \
            if (++test_failures <= 60) {                                                                              \
                printf("FAIL %s:%d: ", __FILE__, __LINE__);                                                           \
                printf(__VA_ARGS__);                                                                                  \
                printf("\n");                                                                                         \
            }                                                                                                         \
        }                                                                                                             \
    } while (0)

/* The stubs for the hypercalls that the tested files call. */
extern size_t discard_calls;
extern bool discard_misaligned;
/* When set, snapfn_abort longjmps to abort_jump with the message in abort_message instead of failing the run. */
#include <setjmp.h>
extern jmp_buf abort_jump;
extern bool abort_expected;
extern char abort_message[1024];

/* A deterministic generator for test data. */
uint64_t test_random(void);
double test_random_double_bits(void); /* any finite double, all exponents equally likely */

void test_format(void);
void test_strtod(void);
void test_string(void);
void test_math(void);
void test_alloc(void);
void test_json(void);

#endif
