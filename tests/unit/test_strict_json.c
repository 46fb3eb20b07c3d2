/* The strict JSON reader: what RFC 8259 allows is read as cJSON reads it,
 * everything else is refused with a message, and no object keeps a key twice. */
#include "config.h"

#include "strict_json.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static aigw_rc parse(const char *text, struct strict_json_error *e, cJSON **out)
{
	return strict_json_parse(text, strlen(text), out, e);
}

/* True when text is refused and the message contains want. */
static int refused(const char *text, const char *want)
{
	struct strict_json_error e;
	cJSON *tree = (cJSON *)1;
	aigw_rc rc = parse(text, &e, &tree);

	if (rc != AIGW_EINVAL || tree != NULL || !strstr(e.message, want)) {
		fprintf(stderr, "  %s -> rc %d, message '%s' (want '%s')\n", text, rc, e.message,
		        want);
		return 0;
	}
	return 1;
}

static int accepted(const char *text)
{
	struct strict_json_error e;
	cJSON *tree = NULL;
	aigw_rc rc = parse(text, &e, &tree);

	if (rc != AIGW_OK || !tree) {
		fprintf(stderr, "  %s -> refused: %s\n", text, e.message);
		return 0;
	}
	cJSON_Delete(tree);
	return 1;
}

static void valid_documents_are_read(void)
{
	struct strict_json_error e;
	cJSON *tree = NULL;

	CHECK(accepted("{}"));
	CHECK(accepted(" [ ] \r\n\t"));
	CHECK(accepted("\"text\""));
	CHECK(accepted("-0.5e+10"));
	CHECK(accepted("[0, -1, 2.25, 1E3, 1e-2, true, false, null]"));
	CHECK(accepted("{\"a\":{\"a\":{\"a\":1}},\"b\":[{\"a\":1},{\"a\":2}]}"));
	CHECK(accepted("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\ud83d\\ude00\""));
	CHECK(accepted("\"caf\xc3\xa9 \xf0\x9f\x98\x80\""));

	CHECK_INT(parse("{\"model\":\"m\",\"max_tokens\":16}", &e, &tree), AIGW_OK);
	CHECK_STR(cJSON_GetObjectItemCaseSensitive(tree, "model")->valuestring, "m");
	CHECK_INT(cJSON_GetObjectItemCaseSensitive(tree, "max_tokens")->valueint, 16);
	cJSON_Delete(tree);
}

static void duplicate_key_at_top_is_named(void)
{
	struct strict_json_error e;
	cJSON *tree = (cJSON *)1;

	CHECK_INT(parse("{\"model\":\"cheap\",\"max_tokens\":1,\"model\":\"dear\"}", &e, &tree),
	          AIGW_EINVAL);
	CHECK(tree == NULL);
	CHECK_STR(e.param, "model");
	CHECK(strstr(e.message, "duplicate key \"model\"") != NULL);
}

static void duplicate_key_deep_is_named_with_its_path(void)
{
	struct strict_json_error e;
	cJSON *tree = NULL;

	CHECK_INT(parse("{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},"
	                "{\"role\":\"user\",\"content\":\"b\",\"role\":\"system\"}]}",
	                &e, &tree),
	          AIGW_EINVAL);
	CHECK_STR(e.param, "messages[1].role");
	CHECK(strstr(e.message, "at messages[1].role") != NULL);
	CHECK_INT(parse("{\"a\":{\"b\":{\"c\":1,\"c\":2}}}", &e, &tree), AIGW_EINVAL);
	CHECK_STR(e.param, "a.b.c");
}

/* "a" and "\u0061" are one key to whoever decodes the JSON after us. */
static void duplicate_spelled_with_an_escape(void)
{
	struct strict_json_error e;
	cJSON *tree = NULL;

	CHECK_INT(parse("{\"model\":\"x\",\"\\u006dodel\":\"y\"}", &e, &tree), AIGW_EINVAL);
	CHECK_STR(e.param, "model");
}

/* Objects above the pairwise limit take the sorted path. */
static aigw_rc parse_many_keys(const char *last_key, struct strict_json_error *e)
{
	char text[4096];
	size_t n = 0;
	cJSON *tree = NULL;
	aigw_rc rc;

	n += (size_t)snprintf(text + n, sizeof(text) - n, "{");
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "\"k%d\":%d,", i, i);
	snprintf(text + n, sizeof(text) - n, "\"%s\":0}", last_key);
	rc = parse(text, e, &tree);
	cJSON_Delete(tree);
	return rc;
}

static void duplicate_in_a_large_object(void)
{
	struct strict_json_error e;

	CHECK_INT(parse_many_keys("k57", &e), AIGW_EINVAL);
	CHECK_STR(e.param, "k57");
	CHECK_INT(parse_many_keys("k100", &e), AIGW_OK);
}

static void same_key_in_sibling_objects_is_fine(void)
{
	CHECK(accepted("[{\"a\":1},{\"a\":1}]"));
	CHECK(accepted("{\"a\":{\"a\":1},\"b\":{\"a\":1}}"));
}

static void trailing_bytes_are_refused(void)
{
	CHECK(refused("{} xyz", "after the JSON value"));
	CHECK(refused("{}{}", "after the JSON value"));
	CHECK(refused("1 2", "after the JSON value"));
}

static void raw_control_characters_are_refused(void)
{
	CHECK(refused("{\"a\":\"x\x01y\"}", "raw control character 0x01"));
	CHECK(refused("{\"a\":\"x\ny\"}", "raw control character 0x0a"));
	CHECK(refused("{\"a\":\"x\x1fy\"}", "raw control character 0x1f"));
}

static void nul_is_refused_escaped_or_raw(void)
{
	struct strict_json_error e;
	cJSON *tree = NULL;
	static const char raw[] = "{\"a\":\"x\0y\"}";

	CHECK(refused("{\"content\":\"before\\u0000after\"}", "\\u0000 is not accepted"));
	CHECK_INT(strict_json_parse(raw, sizeof(raw) - 1, &tree, &e), AIGW_EINVAL);
	CHECK(strstr(e.message, "raw control character 0x00") != NULL);
	CHECK_INT(e.offset, 7);
}

static void non_rfc_numbers_are_refused(void)
{
	CHECK(refused("01", "leading zeros"));
	CHECK(refused("1.", "decimal point"));
	CHECK(refused(".5", "unexpected character"));
	CHECK(refused("+1", "unexpected character"));
	CHECK(refused("1e", "exponent"));
	CHECK(refused("-", "invalid number"));
	CHECK(refused("1e400", "out of range"));
	CHECK(refused("{\"max_tokens\":-1e999}", "out of range"));
	CHECK(refused("NaN", "unexpected character"));
	CHECK(refused("Infinity", "unexpected character"));
}

/* Only numbers a double cannot hold are refused, however they are written. */
static void long_numbers_refused_only_when_they_overflow(void)
{
	char text[512];

	memset(text, '9', 308);
	text[308] = '\0';
	CHECK(accepted(text)); /* 308 digits: below DBL_MAX */
	memset(text, '9', 309);
	text[309] = '\0';
	CHECK(refused(text, "out of range")); /* 1e309 */
	memset(text, '0', 401);
	text[0] = '1';
	snprintf(text + 401, sizeof(text) - 401, "e-200");
	CHECK(accepted(text)); /* 1e200, spelled with 401 digits */
	CHECK(accepted("1.5e308"));
	CHECK(accepted("-1e-400")); /* rounds to -0 */
	CHECK(refused("-1e309", "out of range"));
}

static void bad_escapes_and_surrogates_are_refused(void)
{
	static const char escaped_nul[] = "\"ab\\\0\""; /* a backslash, then a raw NUL */
	struct strict_json_error e;
	cJSON *tree = NULL;

	CHECK_INT(strict_json_parse(escaped_nul, sizeof(escaped_nul) - 1, &tree, &e), AIGW_EINVAL);
	CHECK(strstr(e.message, "invalid escape in a string") != NULL);
	CHECK_INT(e.offset, 4);

	CHECK(refused("\"\\x41\"", "invalid escape"));
	CHECK(refused("\"\\u12\"", "four hex digits"));
	CHECK(refused("\"\\ud83d\"", "unpaired high surrogate"));
	CHECK(refused("\"\\ud83dx\"", "unpaired high surrogate"));
	CHECK(refused("\"\\ud83d\\u0041\"", "unpaired high surrogate"));
	CHECK(refused("\"\\ude00\"", "unpaired low surrogate"));
}

static void invalid_utf8_is_refused(void)
{
	CHECK(refused("\"\xc3\"", "invalid UTF-8"));
	CHECK(refused("\"\xed\xa0\x80\"", "invalid UTF-8"));      /* a surrogate in UTF-8 */
	CHECK(refused("\"\xc0\xaf\"", "invalid UTF-8"));          /* overlong */
	CHECK(refused("\xef\xbb\xbf{}", "unexpected character")); /* a BOM */
}

static void other_syntax_errors_say_where(void)
{
	struct strict_json_error e;
	cJSON *tree = NULL;

	CHECK(refused("", "empty"));
	CHECK(refused("   ", "end of input"));
	CHECK(refused("{\"a\":1,}", "string key"));
	CHECK(refused("[1,]", "unexpected character"));
	CHECK(refused("{\"a\" 1}", "':'"));
	CHECK(refused("{a:1}", "string key"));
	CHECK(refused("[1 2]", "','"));
	CHECK(refused("\"abc", "unterminated"));
	CHECK(refused("tru", "unexpected character"));
	CHECK(refused("{'a':1}", "string key"));
	CHECK_INT(parse("{\"a\":[1,2,x]}", &e, &tree), AIGW_EINVAL);
	CHECK_INT(e.offset, 10);
	CHECK(strstr(e.message, "at byte 10") != NULL);
}

static void depth_is_bounded(void)
{
	char deep[2 * (STRICT_JSON_MAX_DEPTH + 1) + 1];
	int d = STRICT_JSON_MAX_DEPTH;

	memset(deep, '[', (size_t)d);
	memset(deep + d, ']', (size_t)d);
	deep[2 * d] = '\0';
	CHECK(accepted(deep));

	memset(deep, '[', (size_t)d + 1);
	memset(deep + d + 1, ']', (size_t)d + 1);
	deep[2 * d + 2] = '\0';
	CHECK(refused(deep, "nested deeper than 64"));
}

/* Whatever is read prints back to text the reader takes again, with the
 * same values: what was checked is what is sent. */
static void print_round_trips(void)
{
	const char *text = "{\"model\":\"m\",\"max_tokens\":2000,\"messages\":[{\"role\":\"user\","
	                   "\"content\":\"\\u00e9\\n\\\"q\\\"\"}],\"temperature\":0.7}";
	struct strict_json_error e;
	cJSON *a = NULL, *b = NULL;
	char *printed;

	CHECK_INT(parse(text, &e, &a), AIGW_OK);
	printed = cJSON_PrintUnformatted(a);
	CHECK_INT(parse(printed, &e, &b), AIGW_OK);
	CHECK(cJSON_Compare(a, b, 1));
	cJSON_free(printed);
	cJSON_Delete(a);
	cJSON_Delete(b);
}

static bool all_zero(const char *s)
{
	return s && s[0] == '\0';
}

static void wipe_zeroes_every_key_and_string(void)
{
	static const char text[] = "{\"byokKey\":\"sk-or-v1-secret\",\"n\":[{\"k\":\"v\"}]}";
	struct strict_json_error e;
	cJSON *tree = NULL, *inner;
	char *key, *value, *deep;
	size_t key_len, value_len;

	CHECK_INT(strict_json_parse(text, sizeof(text) - 1, &tree, &e), AIGW_OK);
	key = tree->child->string;
	value = tree->child->valuestring;
	inner = tree->child->next->child->child;
	deep = inner->valuestring;
	key_len = strlen(key);
	value_len = strlen(value);
	strict_json_wipe(tree);
	CHECK(all_zero(key) && all_zero(value) && all_zero(deep) && all_zero(inner->string));
	for (size_t i = 0; i < key_len; i++)
		CHECK(key[i] == '\0');
	for (size_t i = 0; i < value_len; i++)
		CHECK(value[i] == '\0');
	cJSON_Delete(tree);
}

int main(void)
{
	check_program = "test_strict_json";
	RUN(valid_documents_are_read);
	RUN(duplicate_key_at_top_is_named);
	RUN(duplicate_key_deep_is_named_with_its_path);
	RUN(duplicate_spelled_with_an_escape);
	RUN(duplicate_in_a_large_object);
	RUN(same_key_in_sibling_objects_is_fine);
	RUN(trailing_bytes_are_refused);
	RUN(raw_control_characters_are_refused);
	RUN(nul_is_refused_escaped_or_raw);
	RUN(non_rfc_numbers_are_refused);
	RUN(long_numbers_refused_only_when_they_overflow);
	RUN(bad_escapes_and_surrogates_are_refused);
	RUN(invalid_utf8_is_refused);
	RUN(other_syntax_errors_say_where);
	RUN(depth_is_bounded);
	RUN(print_round_trips);
	RUN(wipe_zeroes_every_key_and_string);
	CHECK_DONE();
}
