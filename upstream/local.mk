# upstream/: the OpenRouter client (the only user of libcurl), the SSE
# parser of its streams and the reader of its usage objects.
libaigw_upstream_a_CPPFLAGS = $(UPSTREAM_INC) $(BUILD_INC) $(DEP_CFLAGS)
libaigw_upstream_a_SOURCES = \
	upstream/upstream.c upstream/upstream.h \
	upstream/sse_parser.c upstream/sse_parser.h \
	upstream/usage_parse.c upstream/usage_parse.h
