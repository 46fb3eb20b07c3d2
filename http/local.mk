# http/: requests and responses as handlers see them, without FastCGI: the
# parsed request, the response writer over a pluggable sink (JSON, errors,
# SSE), the route table and the bounded body reader.
libaigw_http_a_CPPFLAGS = $(HTTP_INC) $(BUILD_INC) $(DEP_CFLAGS)
libaigw_http_a_SOURCES = \
	http/request.c http/request.h \
	http/response.c http/response.h \
	http/router.c http/router.h \
	http/body.c http/body.h \
	http/prom_text.c http/prom_text.h
