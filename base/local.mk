# base/: what every layer uses and that uses nothing of ours: the error type,
# memory, buffers, the log, the clock, UTF-8, the config file (its URLs read
# by libcurl's URL parser, no transfer), exact money
# and the strict JSON reader.
libaigw_base_a_CPPFLAGS = $(BASE_INC) $(BUILD_INC) $(DEP_CFLAGS)
libaigw_base_a_SOURCES = \
	base/error.c base/error.h \
	base/alloc.c base/alloc.h \
	base/buf.c base/buf.h \
	base/log.c base/log.h \
	base/clock.h \
	base/hex.h \
	base/hash.h \
	base/utf8.c base/utf8.h \
	base/conffile.c base/conffile.h \
	base/urlcheck.c base/urlcheck.h \
	base/money.c base/money.h \
	base/strict_json.c base/strict_json.h
