/* A minimal unit test harness: one program per module, one CASE per behaviour.
 * Each case prints "PASS: <program>: <case>" or "FAIL: ..." with the failing
 * check's file and line; the program exits 1 if any case failed. tests/run
 * counts these lines. */
#ifndef AIGW_CHECK_H
#define AIGW_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failed_cases;
static int check_case_failed;
static const char *check_program = "unit";

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "  %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			check_case_failed = 1;                                                     \
		}                                                                                  \
	} while (0)

#define CHECK_STR(a, b)                                                                            \
	do {                                                                                       \
		const char *check_a_ = (a), *check_b_ = (b);                                       \
		if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) {                   \
			fprintf(stderr, "  %s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__,         \
			        check_a_ ? check_a_ : "(null)", check_b_ ? check_b_ : "(null)");   \
			check_case_failed = 1;                                                     \
		}                                                                                  \
	} while (0)

#define CHECK_INT(a, b)                                                                            \
	do {                                                                                       \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b);                    \
		if (check_a_ != check_b_) {                                                        \
			fprintf(stderr, "  %s:%d: %s == %lld, expected %lld\n", __FILE__,          \
			        __LINE__, #a, check_a_, check_b_);                                 \
			check_case_failed = 1;                                                     \
		}                                                                                  \
	} while (0)

/* Runs fn as one case named by its identifier. */
#define RUN(fn)                                                                                    \
	do {                                                                                       \
		check_case_failed = 0;                                                             \
		fn();                                                                              \
		printf("%s: %s: %s\n", check_case_failed ? "FAIL" : "PASS", check_program, #fn);   \
		fflush(stdout);                                                                    \
		check_failed_cases += check_case_failed;                                           \
	} while (0)

#define CHECK_DONE() return check_failed_cases ? 1 : 0

#endif
