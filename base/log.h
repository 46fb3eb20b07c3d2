/* Logging to stderr (the web server or the pool master collects it).
 * One line per call: time, level, pid, request id (if any), message; as
 * text (the default) or, with log_set_format(LOG_FMT_JSON), as one JSON
 * object per line: {"time","level","pid","request_id","msg", fields...}.
 * Never pass tokens, BYOK keys or master keys to these functions. */
#ifndef AIGW_LOG_H
#define AIGW_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

enum log_format { LOG_FMT_TEXT = 0, LOG_FMT_JSON };

void log_set_level(enum log_level lvl);
void log_set_format(enum log_format fmt);
/* Parses "text", "json"; returns -1 if unknown. */
int log_format_parse(const char *s);
/* Whether lines are JSON (log_set_format). */
bool log_json(void);
/* Parses "error", "warn", "info", "debug"; returns -1 if unknown. */
int log_level_parse(const char *s);
/* The request id shown on this thread's log lines; NULL clears it. */
void log_set_request_id(const char *id);

void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A named value of a structured line (log_fields). */
struct log_field {
	const char *key; /* [a-z_]+, the caller's constant */
	enum { LF_STR, LF_NUM, LF_BOOL } type;
	const char *str; /* LF_STR; NULL is written as null ("-" in text) */
	long long num;   /* LF_NUM, LF_BOOL */
};
#define LOG_STR(k, v) ((struct log_field){.key = (k), .type = LF_STR, .str = (v)})
#define LOG_NUM(k, v) ((struct log_field){.key = (k), .type = LF_NUM, .num = (long long)(v)})
#define LOG_BOOL(k, v) ((struct log_field){.key = (k), .type = LF_BOOL, .num = (v) ? 1 : 0})

/* One line of msg followed by the fields: as text "msg key=value ..." (a
 * value with a space, a quote or an '=' in double quotes), as JSON each
 * field a member after "msg". */
void log_fields(enum log_level lvl, const char *msg, const struct log_field *f, size_t n);

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
