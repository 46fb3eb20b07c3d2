/* The strict JSON reader (see strict_json.h). One pass checks the text
 * against RFC 8259's grammar, which cJSON does not enforce (it takes raw
 * control characters, "01", "1.", "+1" and trailing bytes); cJSON then builds
 * the tree, and a walk over the tree refuses duplicate keys, compared as
 * decoded, so "a" and "\u0061" are the same key as an upstream sees them. */
#include "config.h"

#include "strict_json.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "alloc.h"
#include "hex.h"
#include "utf8.h"

struct scan {
	const char *s;
	size_t len;
	size_t pos;
	int depth;
	struct strict_json_error *e;
};

static aigw_rc syntax(struct scan *sc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static aigw_rc syntax(struct scan *sc, const char *fmt, ...)
{
	char why[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	sc->e->offset = sc->pos;
	snprintf(sc->e->message, sizeof(sc->e->message), "malformed JSON at byte %zu: %s", sc->pos,
	         why);
	return AIGW_EINVAL;
}

static int peek(const struct scan *sc)
{
	return sc->pos < sc->len ? (unsigned char)sc->s[sc->pos] : -1;
}

static void skip_ws(struct scan *sc)
{
	while (sc->pos < sc->len) {
		char c = sc->s[sc->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			return;
		sc->pos++;
	}
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Reads the four hex digits after "\u" at sc->pos; -1 if they are not. */
static long read_hex4(struct scan *sc)
{
	long v = 0;

	if (sc->len - sc->pos < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int h = hex_digit((unsigned char)sc->s[sc->pos + (size_t)i]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	sc->pos += 4;
	return v;
}

/* After "\u": one escape, or a surrogate pair as two. */
static aigw_rc scan_unicode_escape(struct scan *sc)
{
	long hi = read_hex4(sc), lo;

	if (hi < 0)
		return syntax(sc, "\\u needs four hex digits");
	if (hi == 0)
		return syntax(sc, "\\u0000 is not accepted in strings");
	if (hi >= 0xDC00 && hi <= 0xDFFF)
		return syntax(sc, "unpaired low surrogate \\u%04lX", hi);
	if (hi < 0xD800 || hi > 0xDBFF)
		return AIGW_OK;
	if (sc->len - sc->pos < 2 || sc->s[sc->pos] != '\\' || sc->s[sc->pos + 1] != 'u')
		return syntax(sc, "unpaired high surrogate \\u%04lX", hi);
	sc->pos += 2;
	lo = read_hex4(sc);
	if (lo < 0xDC00 || lo > 0xDFFF)
		return syntax(sc, "unpaired high surrogate \\u%04lX", hi);
	return AIGW_OK;
}

static aigw_rc scan_string(struct scan *sc)
{
	size_t run;

	sc->pos++; /* the opening quote */
	for (;;) {
		int c = peek(sc);

		if (c < 0)
			return syntax(sc, "unterminated string");
		if (c == '"') {
			sc->pos++;
			return AIGW_OK;
		}
		if (c < 0x20)
			return syntax(sc, "raw control character 0x%02x in a string (escape it)",
			              c);
		if (c == '\\') {
			sc->pos++;
			c = peek(sc);
			sc->pos++;
			if (c == 'u') {
				if (scan_unicode_escape(sc) != AIGW_OK)
					return AIGW_EINVAL;
			} else if (c <= 0 || !strchr("\"\\/bfnrt", c)) {
				sc->pos--;
				return syntax(sc, "invalid escape in a string");
			}
			continue;
		}
		if (c < 0x80) {
			sc->pos++;
			continue;
		}
		/* A run of non-ASCII bytes, checked as UTF-8 in one go. */
		run = 0;
		while (sc->pos + run < sc->len && (unsigned char)sc->s[sc->pos + run] >= 0x80)
			run++;
		if (!utf8_valid(sc->s + sc->pos, run))
			return syntax(sc, "invalid UTF-8 in a string");
		sc->pos += run;
	}
}

/* RFC 8259: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, and finite. */
static aigw_rc scan_number(struct scan *sc)
{
	size_t start = sc->pos, int_digits = 0;
	bool exponent = false, finite;
	char *copy;

	if (peek(sc) == '-')
		sc->pos++;
	if (peek(sc) == '0') {
		sc->pos++;
		if (is_digit(peek(sc)))
			return syntax(sc, "numbers may not have leading zeros");
	} else if (is_digit(peek(sc))) {
		for (; is_digit(peek(sc)); int_digits++)
			sc->pos++;
	} else {
		return syntax(sc, "invalid number");
	}
	if (peek(sc) == '.') {
		sc->pos++;
		if (!is_digit(peek(sc)))
			return syntax(sc, "a digit must follow the decimal point");
		while (is_digit(peek(sc)))
			sc->pos++;
	}
	if (peek(sc) == 'e' || peek(sc) == 'E') {
		exponent = true;
		sc->pos++;
		if (peek(sc) == '+' || peek(sc) == '-')
			sc->pos++;
		if (!is_digit(peek(sc)))
			return syntax(sc, "a digit must follow the exponent");
		while (is_digit(peek(sc)))
			sc->pos++;
	}
	/* cJSON keeps a double: a number it cannot hold would be sent on as
	 * something else (numbers that fit print back as the same double, which
	 * is what the checks saw). Without an exponent, up to DBL_MAX_10_EXP
	 * integer digits always fit, so only the rest is converted to see. */
	if (!exponent && int_digits <= DBL_MAX_10_EXP)
		return AIGW_OK;
	copy = xstrndup(sc->s + start, sc->pos - start);
	finite = isfinite(strtod(copy, NULL));
	free(copy);
	if (finite)
		return AIGW_OK;
	sc->pos = start;
	return syntax(sc, "number out of range");
}

static aigw_rc scan_literal(struct scan *sc, const char *word)
{
	size_t n = strlen(word);

	if (sc->len - sc->pos < n || memcmp(sc->s + sc->pos, word, n) != 0)
		return syntax(sc, "unexpected character");
	sc->pos += n;
	return AIGW_OK;
}

static aigw_rc scan_value(struct scan *sc);

/* An object or an array: open is '{' or '['. */
static aigw_rc scan_container(struct scan *sc, char open)
{
	char close = open == '{' ? '}' : ']';

	if (++sc->depth > STRICT_JSON_MAX_DEPTH)
		return syntax(sc, "nested deeper than %d levels", STRICT_JSON_MAX_DEPTH);
	sc->pos++;
	skip_ws(sc);
	if (peek(sc) == close) {
		sc->pos++;
		sc->depth--;
		return AIGW_OK;
	}
	for (;;) {
		if (open == '{') {
			if (peek(sc) != '"')
				return syntax(sc, "expected a string key");
			if (scan_string(sc) != AIGW_OK)
				return AIGW_EINVAL;
			skip_ws(sc);
			if (peek(sc) != ':')
				return syntax(sc, "expected ':' after a key");
			sc->pos++;
		}
		if (scan_value(sc) != AIGW_OK)
			return AIGW_EINVAL;
		skip_ws(sc);
		if (peek(sc) == close) {
			sc->pos++;
			sc->depth--;
			return AIGW_OK;
		}
		if (peek(sc) != ',')
			return syntax(sc, "expected ',' or '%c'", close);
		sc->pos++;
		skip_ws(sc);
	}
}

static aigw_rc scan_value(struct scan *sc)
{
	int c;

	skip_ws(sc);
	c = peek(sc);
	switch (c) {
	case '{':
	case '[':
		return scan_container(sc, (char)c);
	case '"':
		return scan_string(sc);
	case 't':
		return scan_literal(sc, "true");
	case 'f':
		return scan_literal(sc, "false");
	case 'n':
		return scan_literal(sc, "null");
	case -1:
		return syntax(sc, "unexpected end of input");
	default:
		if (c == '-' || is_digit(c))
			return scan_number(sc);
		return syntax(sc, "unexpected character");
	}
}

/* Appends ".key" or "[i]" to a path, truncating quietly: it is for a message. */
static void path_push(char *path, size_t size, const cJSON *parent, const cJSON *item, size_t index)
{
	size_t used = strlen(path);

	if (used + 1 >= size)
		return;
	if (cJSON_IsArray(parent))
		snprintf(path + used, size - used, "[%zu]", index);
	else
		snprintf(path + used, size - used, "%s%s", used ? "." : "", item->string);
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

/* The first key of obj that appears twice, or NULL. Small objects by pairs;
 * larger ones sorted, so a body of many keys costs n log n, not n^2. */
static const cJSON *duplicate_key(const cJSON *obj)
{
	const cJSON *a, *b, *found = NULL;
	size_t n = 0, i = 0;
	const cJSON **keys;

	for (a = obj->child; a; a = a->next)
		n++;
	if (n <= 16) {
		for (a = obj->child; a; a = a->next)
			for (b = a->next; b; b = b->next)
				if (strcmp(a->string, b->string) == 0)
					return a;
		return NULL;
	}
	keys = xcalloc(n, sizeof(*keys));
	for (a = obj->child; a; a = a->next)
		keys[i++] = a;
	qsort(keys, n, sizeof(*keys), key_cmp);
	for (i = 1; i < n && !found; i++)
		if (strcmp(keys[i - 1]->string, keys[i]->string) == 0)
			found = keys[i];
	free(keys);
	return found;
}

/* Walks the tree (depth already bounded by the scan); path is where node is. */
static aigw_rc check_keys(const cJSON *node, char *path, size_t size, struct strict_json_error *e)
{
	const cJSON *dup, *item;
	size_t index = 0, mark = strlen(path);

	if (cJSON_IsObject(node) && (dup = duplicate_key(node)) != NULL) {
		path_push(path, size, node, dup, 0);
		snprintf(e->param, sizeof(e->param), "%s", path);
		if (mark == 0)
			snprintf(e->message, sizeof(e->message),
			         "duplicate key \"%.100s\" in the JSON body", dup->string);
		else
			snprintf(e->message, sizeof(e->message),
			         "duplicate key \"%.80s\" in the JSON body at %.120s", dup->string,
			         path);
		return AIGW_EINVAL;
	}
	if (!cJSON_IsObject(node) && !cJSON_IsArray(node))
		return AIGW_OK;
	for (item = node->child; item; item = item->next, index++) {
		path_push(path, size, node, item, index);
		if (check_keys(item, path, size, e) != AIGW_OK)
			return AIGW_EINVAL;
		path[mark] = '\0';
	}
	return AIGW_OK;
}

void strict_json_wipe(cJSON *tree)
{
	for (; tree; tree = tree->next) {
		if (tree->valuestring)
			sodium_memzero(tree->valuestring, strlen(tree->valuestring));
		if (tree->string)
			sodium_memzero(tree->string, strlen(tree->string));
		strict_json_wipe(tree->child);
	}
}

aigw_rc strict_json_parse(const char *text, size_t len, cJSON **out, struct strict_json_error *e)
{
	struct scan sc = {.s = text, .len = len, .e = e};
	char path[sizeof(e->param)] = "";
	cJSON *tree;

	*out = NULL;
	memset(e, 0, sizeof(*e));
	if (!text || len == 0) {
		snprintf(e->message, sizeof(e->message), "malformed JSON: the body is empty");
		return AIGW_EINVAL;
	}
	if (scan_value(&sc) != AIGW_OK)
		return AIGW_EINVAL;
	skip_ws(&sc);
	if (sc.pos != len)
		return syntax(&sc, "unexpected bytes after the JSON value");

	/* The grammar is checked, so cJSON fails here only for want of memory. */
	tree = cJSON_ParseWithLength(text, len);
	if (!tree) {
		snprintf(e->message, sizeof(e->message), "cannot parse the JSON body");
		return AIGW_EINVAL;
	}
	if (check_keys(tree, path, sizeof(path), e) != AIGW_OK) {
		strict_json_wipe(tree); /* bodies may carry BYOK keys */
		cJSON_Delete(tree);
		return AIGW_EINVAL;
	}
	*out = tree;
	return AIGW_OK;
}
