/* UTF-8 validation: JSON bodies must be UTF-8 (RFC 8259), and cJSON does not
 * check, so a stray byte would otherwise travel to the database or upstream. */
#ifndef AIGW_UTF8_H
#define AIGW_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True if s[0..n) is well-formed UTF-8: no overlong forms, no surrogates,
 * nothing above U+10FFFF. */
bool utf8_valid(const char *s, size_t n);

#endif
