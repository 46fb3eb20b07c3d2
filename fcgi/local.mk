# fcgi/local.mk: the FastCGI layer. libaigw_fcgi.a holds everything but the
# aigw.fcgi program's own files (main, process model, FastCGI stream I/O),
# so unit tests and the layers above link exactly what production runs.

libaigw_fcgi_a_SOURCES += \
	fcgi/error.c fcgi/error.h \
	fcgi/alloc.c fcgi/alloc.h \
	fcgi/buf.c fcgi/buf.h \
	fcgi/log.c fcgi/log.h \
	fcgi/conffile.c fcgi/conffile.h \
	fcgi/request.c fcgi/request.h \
	fcgi/response.c fcgi/response.h \
	fcgi/router.c fcgi/router.h \
	fcgi/body.c fcgi/body.h \
	fcgi/utf8.c fcgi/utf8.h \
	fcgi/strict_json.c fcgi/strict_json.h \
	fcgi/clock.h

bin_PROGRAMS += aigw.fcgi
aigw_fcgi_SOURCES = fcgi/main.c \
	fcgi/server.c fcgi/server.h \
	fcgi/pool.c fcgi/pool.h \
	fcgi/fcgi_io.c fcgi/fcgi_io.h
aigw_fcgi_LDADD = $(HANDLERS_LAYER)

FCGI_UNIT_TESTS = \
	tests/unit/test_buf \
	tests/unit/test_conffile \
	tests/unit/test_router \
	tests/unit/test_response \
	tests/unit/test_body \
	tests/unit/test_request \
	tests/unit/test_utf8 \
	tests/unit/test_strict_json
check_PROGRAMS += $(FCGI_UNIT_TESTS)
TESTS += $(FCGI_UNIT_TESTS)

tests_unit_test_utf8_SOURCES = tests/unit/test_utf8.c tests/unit/check.h
tests_unit_test_utf8_LDADD = $(FCGI_LAYER)
tests_unit_test_strict_json_SOURCES = tests/unit/test_strict_json.c tests/unit/check.h
tests_unit_test_strict_json_LDADD = $(FCGI_LAYER)
tests_unit_test_buf_SOURCES = tests/unit/test_buf.c tests/unit/check.h
tests_unit_test_buf_LDADD = $(FCGI_LAYER)
tests_unit_test_conffile_SOURCES = tests/unit/test_conffile.c tests/unit/check.h
tests_unit_test_conffile_LDADD = $(FCGI_LAYER)
tests_unit_test_router_SOURCES = tests/unit/test_router.c tests/unit/check.h
tests_unit_test_router_LDADD = $(FCGI_LAYER)
tests_unit_test_response_SOURCES = tests/unit/test_response.c tests/unit/check.h
tests_unit_test_response_LDADD = $(FCGI_LAYER)
tests_unit_test_body_SOURCES = tests/unit/test_body.c tests/unit/check.h
tests_unit_test_body_LDADD = $(FCGI_LAYER)
tests_unit_test_request_SOURCES = tests/unit/test_request.c tests/unit/check.h
tests_unit_test_request_LDADD = $(FCGI_LAYER)

# Runs only this layer's unit tests (other layers may be mid-build).
check-fcgi: $(FCGI_UNIT_TESTS)
	@$(MAKE) $(AM_MAKEFLAGS) check-TESTS TESTS='$(FCGI_UNIT_TESTS)' \
		check_PROGRAMS='$(FCGI_UNIT_TESTS)'
.PHONY: check-fcgi
