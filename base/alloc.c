/* Allocation wrappers: the one out-of-memory policy. A worker that cannot
 * allocate logs one line and aborts; its master (or the web server) starts a
 * fresh one, which is safer than every caller inventing a recovery path. */
#include "config.h"

#include "alloc.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

static void oom(size_t n)
{
	/* log_msg formats on the stack, so it works with the heap exhausted. */
	log_error("out of memory allocating %zu bytes; aborting", n);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom(n);
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p;

	if (nmemb == 0 || size == 0)
		nmemb = size = 1;
	p = calloc(nmemb, size);
	if (p == NULL)
		oom(nmemb * size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		oom(n);
	return q;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}
