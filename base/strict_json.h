/* The one reader of JSON request bodies. RFC 8259 only: one value, no bytes
 * after it, no raw control characters in strings, valid escapes and UTF-8,
 * finite numbers, nesting bounded, and no key twice in an object at any
 * depth. cJSON alone keeps both copies of a duplicate key, returns the first
 * to lookups and prints both, so a checked value and the one an upstream
 * reads could differ; after this reader the tree is the whole truth, and the
 * body sent upstream is printed from it.
 *
 * "\u0000" is refused: a C string cannot carry it, so it would otherwise cut
 * a text silently. */
#ifndef AIGW_STRICT_JSON_H
#define AIGW_STRICT_JSON_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "error.h"

/* Objects and arrays nested deeper than this are refused. */
#define STRICT_JSON_MAX_DEPTH 64

struct strict_json_error {
	char message[AIGW_ERRLEN]; /* fit for the client: says what and where */
	char param[128];           /* the duplicate key's path ("messages[0].role"), else "" */
	size_t offset;             /* byte offset of a syntax error, else 0 */
};

/* Parses text[0..len) (no NUL terminator needed). AIGW_OK: *out is the tree
 * (caller cJSON_Deletes it). AIGW_EINVAL: *out is NULL and e says why.
 * e may not be NULL. Memory failure follows the process's cJSON hooks. */
aigw_rc strict_json_parse(const char *text, size_t len, cJSON **out, struct strict_json_error *e);

/* Zeroes every key and string value of tree (and its children), for a tree
 * that may hold a secret, before cJSON_Delete. A refused body's tree is
 * wiped by strict_json_parse itself. */
void strict_json_wipe(cJSON *tree);

#endif
