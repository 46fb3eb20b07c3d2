/* The FastCGI side of a request: copying params out of libfcgi's envp,
 * reading the body from FCGI_STDIN, and the response sink over FCGI_STDOUT.
 * The only place besides server.c that sees libfcgi types. */
#ifndef AIGW_FCGI_IO_H
#define AIGW_FCGI_IO_H

#include <stddef.h>

#include <fcgiapp.h>

#include "request.h"
#include "response.h"

/* Sink over a request's output stream (io = FCGX_Request *). A write or
 * flush that leaves the stream in error means the client (web server) is
 * gone; end finishes the FastCGI request early. */
extern const struct sink_ops fcgi_sink_ops;

/* Copies every param of fr into req (envp dies at FCGX_Finish_r), fills
 * method, path and query, and gives req a fresh request id. */
void fcgi_read_params(FCGX_Request *fr, struct request *req);

/* body_read_fn over an input stream (io = FCGX_Stream *in). */
int fcgi_body_read(void *io, char *dst, int n);

/* Reads and discards up to max bytes of input, so a refused body does not
 * turn our answer into a connection reset at the web server. */
void fcgi_drain_input(FCGX_Stream *in, size_t max);

#endif
