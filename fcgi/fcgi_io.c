/* FastCGI plumbing for one request: params, body input and the response
 * sink over libfcgi streams (see fcgi_io.h). */
#include "config.h"

#include "fcgi_io.h"

#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <fastcgi.h>

#include "alloc.h"

static int fcgi_write(void *io, const char *data, size_t len)
{
	FCGX_Stream *out = ((FCGX_Request *)io)->out;

	while (len > 0) {
		int n = len > INT_MAX ? INT_MAX : (int)len;

		if (FCGX_PutStr(data, n, out) != n || FCGX_GetError(out) != 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fcgi_flush(void *io)
{
	FCGX_Stream *out = ((FCGX_Request *)io)->out;

	/* FCGX_FFlush reports a dead peer once and then returns 0: the stream's
	 * error flag is the reliable signal. */
	FCGX_FFlush(out);
	return FCGX_GetError(out) != 0 ? -1 : 0;
}

/* Finishing early is safe: FCGX_Finish_r runs again, as a no-op, after the
 * handler returns (and again inside the next FCGX_Accept_r). */
static int fcgi_end(void *io)
{
	FCGX_Finish_r(io);
	return 0;
}

/* The web server closed our connection, or sent FCGI_ABORT_REQUEST (its
 * client left): after the request's last stdin record it sends nothing
 * else, so anything readable now is one of those. A peek, never a read:
 * libfcgi owns the stream. */
static bool fcgi_peer_gone(void *io)
{
	int fd = ((FCGX_Request *)io)->ipcFd;
	struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
	unsigned char head[8];
	ssize_t n;

	if (fd < 0 || poll(&p, 1, 0) <= 0)
		return false;
	if (p.revents & (POLLHUP | POLLRDHUP | POLLERR))
		return true;
	n = recv(fd, head, sizeof(head), MSG_PEEK | MSG_DONTWAIT);
	if (n == 0)
		return true;
	return n >= 2 && head[1] == FCGI_ABORT_REQUEST;
}

const struct sink_ops fcgi_sink_ops = {fcgi_write, fcgi_flush, fcgi_end, fcgi_peer_gone};

void fcgi_read_params(FCGX_Request *fr, struct request *req)
{
	char **env;

	for (env = fr->envp; env != NULL && *env != NULL; env++) {
		const char *eq = strchr(*env, '=');
		char *name;

		if (eq == NULL)
			continue;
		name = xstrndup(*env, (size_t)(eq - *env));
		request_add_param(req, name, eq + 1);
		free(name);
	}
	request_fill_from_params(req);
	request_new_id(req);
}

int fcgi_body_read(void *io, char *dst, int n)
{
	FCGX_Stream *in = io;
	int got = FCGX_GetStr(dst, n, in);

	if (got < n && FCGX_GetError(in) != 0)
		return -1;
	return got;
}

void fcgi_drain_input(FCGX_Stream *in, size_t max)
{
	char scratch[16 * 1024];
	size_t total = 0;

	while (total < max) {
		int n = FCGX_GetStr(scratch, (int)sizeof(scratch), in);

		if (n <= 0)
			break;
		total += (size_t)n;
	}
}
