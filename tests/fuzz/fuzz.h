/* What the libFuzzer harnesses share: a property check that aborts (so
 * libFuzzer saves the input as a crash) and a quiet log. Header-only: each
 * harness is one .c linked against the project's libraries. */
#ifndef AIGW_FUZZ_H
#define AIGW_FUZZ_H

#include <stdio.h>
#include <stdlib.h>

#include "log.h"

/* Unlike assert(), never compiled out. */
#define FUZZ_ASSERT(cond)                                                                          \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__,        \
			        #cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* Log lines for rejected inputs (even errors: "the platform's upstream
 * account is out of credits") would drown libFuzzer's own output: below
 * LOG_LVL_ERROR nothing is written. */
static inline void fuzz_quiet(void)
{
	log_set_level((enum log_level)(LOG_LVL_ERROR - 1));
}

#endif
