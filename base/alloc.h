/* Allocation wrappers: the project's one out-of-memory policy. On allocation
 * failure they log and abort(): a gateway worker that cannot allocate is
 * restarted by its master (or web server) rather than limping on.
 * Memory from these is released with free(). */
#ifndef AIGW_ALLOC_H
#define AIGW_ALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
