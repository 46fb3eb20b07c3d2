# fcgi/: the aigw.fcgi program: main, the process pool (workers and their
# request threads) and the FastCGI stream behind the response sink.
bin_PROGRAMS += aigw.fcgi
aigw_fcgi_CPPFLAGS = $(FCGI_INC) $(BUILD_INC) $(DEP_CFLAGS)
aigw_fcgi_SOURCES = fcgi/main.c \
	fcgi/server.c fcgi/server.h \
	fcgi/pool.c fcgi/pool.h \
	fcgi/fcgi_io.c fcgi/fcgi_io.h
aigw_fcgi_LDADD = $(HANDLERS_LIBS)
