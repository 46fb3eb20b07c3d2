/* UTF-8 validation: accepts every well-formed sequence length, refuses
 * stray continuation bytes, truncation, overlong forms, surrogates and code
 * points past U+10FFFF. */
#include "config.h"

#include "utf8.h"

#include "check.h"

#define VALID(lit) CHECK(utf8_valid(lit, sizeof(lit) - 1))
#define INVALID(lit) CHECK(!utf8_valid(lit, sizeof(lit) - 1))

static void well_formed(void)
{
	VALID("");
	VALID("plain ascii {\"a\":1}");
	VALID("caf\xc3\xa9");      /* U+00E9 */
	VALID("\xe2\x82\xac");     /* U+20AC */
	VALID("\xed\x9f\xbf");     /* U+D7FF, last before surrogates */
	VALID("\xf0\x9f\x98\x80"); /* U+1F600 */
	VALID("\xf4\x8f\xbf\xbf"); /* U+10FFFF */
}

static void malformed(void)
{
	INVALID("vendor/\xff\xfe-model");
	INVALID("\x80");             /* lone continuation */
	INVALID("\xc3");             /* truncated */
	INVALID("\xe2\x82");         /* truncated */
	INVALID("\xc0\xaf");         /* overlong '/' */
	INVALID("\xe0\x80\xaf");     /* overlong */
	INVALID("\xf0\x80\x80\xaf"); /* overlong */
	INVALID("\xed\xa0\x80");     /* U+D800 surrogate */
	INVALID("\xf4\x90\x80\x80"); /* U+110000 */
	INVALID("\xf5\x80\x80\x80");
	INVALID("\xe2\x28\xa1"); /* bad continuation */
}

int main(void)
{
	check_program = "utf8";
	RUN(well_formed);
	RUN(malformed);
	CHECK_DONE();
}
