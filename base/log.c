/* Logging to stderr: one line per call, built on the stack (so logging still
 * works when the heap is exhausted: alloc.c logs OOM) and never interleaved
 * with another thread's.
 *
 * Lines are combined: a thread appends its line to a shared buffer under a
 * mutex (a copy) and, if no thread is writing, becomes the writer and writes
 * everything pending with one write() outside the mutex until nothing is
 * left. Threads whose line arrives meanwhile return at once: the writer
 * takes it. Nothing waits for a timer and nothing stays buffered once its
 * logging call has returned and the writer's write returned; writes to one
 * file serialize in the kernel anyway, and with thousands of request threads
 * on few cores one write() per line made them queue there. */
#include "config.h"

#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096
/* Lines waiting for the writer; a line that does not fit waits for room. */
#define LOG_PENDING_MAX (256 * 1024)

static pthread_mutex_t pending_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pending_room = PTHREAD_COND_INITIALIZER;
static char pending[LOG_PENDING_MAX];
static size_t pending_len;
static bool writing; /* a thread is writing the pending lines out */
/* Bytes ever queued and ever written, so that a caller can wait for its line. */
static unsigned long long queued_total, written_total;
static pthread_cond_t pending_written = PTHREAD_COND_INITIALIZER;

static volatile int current_level = LOG_LVL_INFO;

static void write_all(const char *p, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t w = write(STDERR_FILENO, p + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
}

/* Queues the line, and writes the queue out if nobody else is. With wait
 * set (errors: the process may be about to die) it returns only once the
 * line is written, whoever writes it. */
static void emit(const char *line, size_t len, bool wait)
{
	static char out[LOG_PENDING_MAX];
	unsigned long long mine;

	pthread_mutex_lock(&pending_mu);
	while (pending_len + len > sizeof(pending))
		pthread_cond_wait(&pending_room, &pending_mu);
	memcpy(pending + pending_len, line, len);
	pending_len += len;
	queued_total += len;
	mine = queued_total;
	if (writing) {
		while (wait && written_total < mine)
			pthread_cond_wait(&pending_written, &pending_mu);
		pthread_mutex_unlock(&pending_mu);
		return;
	}
	writing = true;
	while (pending_len > 0) {
		/* out is the writer's alone: only one thread writes at a time */
		size_t n = pending_len;

		memcpy(out, pending, n);
		pending_len = 0;
		pthread_cond_broadcast(&pending_room);
		pthread_mutex_unlock(&pending_mu);
		write_all(out, n);
		pthread_mutex_lock(&pending_mu);
		written_total += n;
		pthread_cond_broadcast(&pending_written);
	}
	writing = false;
	pthread_mutex_unlock(&pending_mu);
}
static __thread char thread_request_id[40];

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

void log_set_level(enum log_level lvl)
{
	current_level = lvl;
}

int log_level_parse(const char *s)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

void log_set_request_id(const char *id)
{
	if (id == NULL) {
		thread_request_id[0] = '\0';
		return;
	}
	snprintf(thread_request_id, sizeof(thread_request_id), "%s", id);
}

/* Copies src into dst escaping control bytes, so a client-supplied path with a
 * newline cannot forge a log line. Returns the new length of dst. */
static size_t append_escaped(char *dst, size_t len, size_t max, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p;

	for (p = (const unsigned char *)src; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			if (len + 4 >= max)
				break;
			dst[len++] = '\\';
			dst[len++] = 'x';
			dst[len++] = hex[*p >> 4];
			dst[len++] = hex[*p & 0xf];
		} else {
			if (len + 1 >= max)
				break;
			dst[len++] = (char)*p;
		}
	}
	dst[len] = '\0';
	return len;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	char msg[LOG_LINE_MAX];
	char line[LOG_LINE_MAX + 128];
	struct timeval tv;
	struct tm tm;
	va_list ap;
	size_t len;
	int saved_errno = errno;
	int n;

	if ((int)lvl > current_level)
		return;
	if ((int)lvl < 0 || (int)lvl > LOG_LVL_DEBUG)
		lvl = LOG_LVL_ERROR;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		snprintf(msg, sizeof(msg), "(unformattable log message)");
	else if ((size_t)n >= sizeof(msg))
		memcpy(msg + sizeof(msg) - 4, "...", 4);

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s %ld %s ",
	             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	             (int)(tv.tv_usec / 1000), level_names[lvl], (long)getpid(),
	             thread_request_id[0] ? thread_request_id : "-");
	len = n > 0 ? (size_t)n : 0;
	len = append_escaped(line, len, sizeof(line) - 1, msg);
	line[len++] = '\n';

	emit(line, len, lvl == LOG_LVL_ERROR);
	errno = saved_errno;
}
