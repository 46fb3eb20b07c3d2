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

#include "utf8.h"

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
static volatile int current_format = LOG_FMT_TEXT;

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

void log_set_format(enum log_format fmt)
{
	current_format = fmt;
}

bool log_json(void)
{
	return current_format == LOG_FMT_JSON;
}

int log_format_parse(const char *s)
{
	if (s == NULL)
		return -1;
	if (strcasecmp(s, "text") == 0)
		return LOG_FMT_TEXT;
	if (strcasecmp(s, "json") == 0)
		return LOG_FMT_JSON;
	return -1;
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

/* Appends s as the inside of a JSON string. Built here, on the stack, not
 * with cJSON: a log line must be written when the heap is exhausted too.
 * Text that is not UTF-8 has its high bytes escaped one by one, so the line
 * stays valid JSON whatever a client sent. */
static size_t append_json_string(char *dst, size_t len, size_t max, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	bool raw_high = utf8_valid(src, strlen(src));

	for (const unsigned char *p = (const unsigned char *)src; *p != '\0'; p++) {
		char esc[7];
		size_t n;

		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			n = 2;
		} else if (*p < 0x20 || *p == 0x7f || (*p >= 0x80 && !raw_high)) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 0xf];
			n = 6;
		} else {
			esc[0] = (char)*p;
			n = 1;
		}
		if (len + n >= max)
			break;
		memcpy(dst + len, esc, n);
		len += n;
	}
	dst[len] = '\0';
	return len;
}

static size_t append_raw(char *dst, size_t len, size_t max, const char *src)
{
	size_t n = strlen(src);

	if (len + n >= max)
		n = max > len + 1 ? max - len - 1 : 0;
	memcpy(dst + len, src, n);
	len += n;
	dst[len] = '\0';
	return len;
}

/* The line up to the message: text "TIME LEVEL PID RID " or JSON
 * "{"time":..,"level":..,"pid":..,"request_id":..,"msg":" (the message's
 * string left open). */
static size_t line_start(char *line, size_t max, enum log_level lvl)
{
	static const char *const json_levels[] = {"error", "warn", "info", "debug"};
	struct timeval tv;
	struct tm tm;
	char when[80];
	int n;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	         (int)(tv.tv_usec / 1000));
	if (current_format == LOG_FMT_JSON) {
		size_t len;

		n = snprintf(line, max, "{\"time\":\"%s\",\"level\":\"%s\",\"pid\":%ld,\"request_id\":",
		             when, json_levels[lvl], (long)getpid());
		len = n > 0 ? (size_t)n : 0;
		if (thread_request_id[0]) {
			len = append_raw(line, len, max, "\"");
			len = append_json_string(line, len, max, thread_request_id);
			len = append_raw(line, len, max, "\"");
		} else {
			len = append_raw(line, len, max, "null");
		}
		return append_raw(line, len, max, ",\"msg\":\"");
	}
	n = snprintf(line, max, "%s %s %ld %s ", when, level_names[lvl], (long)getpid(),
	             thread_request_id[0] ? thread_request_id : "-");
	return n > 0 ? (size_t)n : 0;
}

/* Appends msg (escaped for the format) to the line. */
static size_t append_msg(char *line, size_t len, size_t max, const char *msg)
{
	if (current_format == LOG_FMT_JSON)
		return append_json_string(line, len, max, msg);
	return append_escaped(line, len, max, msg);
}

/* Ends the line (closing the JSON object) with its newline; room for both
 * is kept by the callers (max is the line's size minus 3). */
static size_t line_end(char *line, size_t len, bool msg_open)
{
	if (current_format == LOG_FMT_JSON) {
		if (msg_open)
			line[len++] = '"';
		line[len++] = '}';
	}
	line[len++] = '\n';
	return len;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	char msg[LOG_LINE_MAX];
	char line[LOG_LINE_MAX + 256];
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

	len = line_start(line, sizeof(line) - 3, lvl);
	len = append_msg(line, len, sizeof(line) - 3, msg);
	len = line_end(line, len, true);

	emit(line, len, lvl == LOG_LVL_ERROR);
	errno = saved_errno;
}

/* A text value goes in double quotes when it would not read as one word. */
static bool needs_quotes(const char *s)
{
	return !s[0] || strpbrk(s, " \"=\\") != NULL;
}

static size_t append_text_value(char *line, size_t len, size_t max, const char *s)
{
	if (!needs_quotes(s))
		return append_escaped(line, len, max, s);
	len = append_raw(line, len, max, "\"");
	for (const char *p = s; *p && len + 3 < max; p++) {
		char one[2] = {*p, '\0'};

		if (*p == '"' || *p == '\\')
			len = append_raw(line, len, max, "\\");
		len = append_escaped(line, len, max, one);
	}
	return append_raw(line, len, max, "\"");
}

void log_fields(enum log_level lvl, const char *msg, const struct log_field *f, size_t nf)
{
	char line[LOG_LINE_MAX + 256];
	const size_t max = sizeof(line) - 3;
	bool json = current_format == LOG_FMT_JSON;
	char num[32];
	size_t len;
	int saved_errno = errno;

	if ((int)lvl > current_level)
		return;
	if ((int)lvl < 0 || (int)lvl > LOG_LVL_DEBUG)
		lvl = LOG_LVL_ERROR;
	len = line_start(line, max, lvl);
	len = append_msg(line, len, max, msg);
	if (json)
		len = append_raw(line, len, max, "\"");
	for (size_t i = 0; i < nf; i++) {
		len = append_raw(line, len, max, json ? ",\"" : " ");
		len = append_raw(line, len, max, f[i].key);
		len = append_raw(line, len, max, json ? "\":" : "=");
		if (f[i].type == LF_STR && !f[i].str) {
			len = append_raw(line, len, max, json ? "null" : "-");
		} else if (f[i].type == LF_STR && json) {
			len = append_raw(line, len, max, "\"");
			len = append_json_string(line, len, max, f[i].str);
			len = append_raw(line, len, max, "\"");
		} else if (f[i].type == LF_STR) {
			len = append_text_value(line, len, max, f[i].str);
		} else if (f[i].type == LF_BOOL) {
			len = append_raw(line, len, max,
			                 json ? (f[i].num ? "true" : "false") : (f[i].num ? "1" : "0"));
		} else {
			snprintf(num, sizeof(num), "%lld", f[i].num);
			len = append_raw(line, len, max, num);
		}
	}
	len = line_end(line, len, false);
	emit(line, len, lvl == LOG_LVL_ERROR);
	errno = saved_errno;
}
