/*
 * testing.h - the tiny header-only check library every unit test uses.
 *
 * Portable on purpose: the same test binaries run on the host (ASan+UBSan)
 * and bare-metal on Cortex-M under QEMU with newlib, so this uses nothing but
 * printf, and prints 64-bit values as two 32-bit hex halves (newlib-nano has
 * no %llu, and no libc here has %zu).
 *
 * A failed check prints file:line and the expression, counts the failure and
 * carries on, so one run reports every broken check. A test file looks like:
 *
 *     #include "testing.h"
 *     static void test_something(void) { CHECK(1 + 1 == 2); }
 *     TEST_MAIN(
 *         RUN(test_something);
 *     )
 *
 * main() returns 0 when every check passed and 1 otherwise.
 */
#ifndef RUNNEL_TESTING_H
#define RUNNEL_TESTING_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Counters live in function-local statics so an including file that does
 * not use them gets no "defined but not used" warning. */
static inline unsigned long *testing_failures(void)
{
    static unsigned long failures;
    return &failures;
}

static inline unsigned long *testing_checks(void)
{
    static unsigned long checks;
    return &checks;
}

static inline void testing_fail(const char *file, int line, const char *what)
{
    ++*testing_failures();
    printf("%s:%d: CHECK failed: %s\n", file, line, what);
}

#define CHECK(cond)                                                   \
    do {                                                              \
        ++*testing_checks();                                          \
        if (!(cond))                                                  \
            testing_fail(__FILE__, __LINE__, #cond);                  \
    } while (0)

#define CHECK_EQ_U64(actual, expected)                                        \
    do {                                                                      \
        uint64_t testing_a_ = (uint64_t)(actual);                             \
        uint64_t testing_e_ = (uint64_t)(expected);                           \
        ++*testing_checks();                                                  \
        if (testing_a_ != testing_e_) {                                       \
            testing_fail(__FILE__, __LINE__, #actual " == " #expected);       \
            printf("    got 0x%08lx%08lx, expected 0x%08lx%08lx\n",           \
                   (unsigned long)(testing_a_ >> 32),                         \
                   (unsigned long)(testing_a_ & 0xffffffffu),                 \
                   (unsigned long)(testing_e_ >> 32),                         \
                   (unsigned long)(testing_e_ & 0xffffffffu));                \
        }                                                                     \
    } while (0)

/* For return codes: prints both sides as signed decimals. */
#define CHECK_EQ_INT(actual, expected)                                        \
    do {                                                                      \
        long testing_a_ = (long)(actual);                                     \
        long testing_e_ = (long)(expected);                                   \
        ++*testing_checks();                                                  \
        if (testing_a_ != testing_e_) {                                       \
            testing_fail(__FILE__, __LINE__, #actual " == " #expected);       \
            printf("    got %ld, expected %ld\n", testing_a_, testing_e_);    \
        }                                                                     \
    } while (0)

#define CHECK_MEM(actual, expected, n)                                        \
    do {                                                                      \
        ++*testing_checks();                                                  \
        if (memcmp((actual), (expected), (n)) != 0)                           \
            testing_fail(__FILE__, __LINE__,                                  \
                         "memcmp(" #actual ", " #expected ", " #n ") == 0");  \
    } while (0)

/* Compares two NUL-terminated strings and prints both on mismatch. */
#define CHECK_STR(actual, expected)                                           \
    do {                                                                      \
        const char *testing_a_ = (actual);                                    \
        const char *testing_e_ = (expected);                                  \
        ++*testing_checks();                                                  \
        if (testing_a_ == NULL || strcmp(testing_a_, testing_e_) != 0) {      \
            testing_fail(__FILE__, __LINE__, #actual " == " #expected);       \
            printf("    got      \"%s\"\n    expected \"%s\"\n",              \
                   testing_a_ ? testing_a_ : "(null)", testing_e_);           \
        }                                                                     \
    } while (0)

/* Runs one test function and says how it went. */
#define RUN(fn)                                                               \
    do {                                                                      \
        unsigned long testing_before_ = *testing_failures();                  \
        fn();                                                                 \
        printf("%s %s\n",                                                     \
               *testing_failures() == testing_before_ ? "ok  " : "FAIL",      \
               #fn);                                                          \
    } while (0)

static inline int testing_summary(const char *file)
{
    printf("%s: %lu checks, %lu failed\n", file, *testing_checks(),
           *testing_failures());
    return *testing_failures() == 0 ? 0 : 1;
}

#define TEST_MAIN(...)                                                        \
    int main(void)                                                            \
    {                                                                         \
        __VA_ARGS__                                                           \
        return testing_summary(__FILE__);                                     \
    }

#endif /* RUNNEL_TESTING_H */
