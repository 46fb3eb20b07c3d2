/* fcgi_hello: the FastCGI floor of tests/bench/run. A libfcgi responder that reads the
 * request body and answers one fixed chat.completion JSON, so lighttpd + FastCGI can be
 * measured with no gateway work at all (no auth, no database, no upstream).
 *
 *   cc -O2 -o fcgi_hello fcgi_hello.c -lfcgi -lpthread
 *   fcgi_hello --listen /path/to.sock [--threads N]
 */
#include <fcgiapp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The same size and shape as the mock upstream's non-streamed answer (8 words). */
static const char BODY[] =
        "{\"id\":\"gen-floor\",\"provider\":\"Floor\",\"model\":\"openai/gpt-4o-mini\","
        "\"object\":\"chat.completion\",\"created\":1700000000,\"choices\":[{\"logprobs\":null,"
        "\"finish_reason\":\"stop\",\"native_finish_reason\":\"stop\",\"index\":0,\"message\":"
        "{\"role\":\"assistant\",\"content\":\"w1 w2 w3 w4 w5 w6 w7 w8 \",\"refusal\":null,"
        "\"reasoning\":null}}],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":8,"
        "\"total_tokens\":20,\"cost\":0.0000066,\"is_byok\":false,\"prompt_tokens_details\":"
        "{\"cached_tokens\":0},\"cost_details\":{\"upstream_inference_cost\":null},"
        "\"completion_tokens_details\":{\"reasoning_tokens\":0}}}";

static int sock;
/* libfcgi's accept on one socket from many threads is serialised, as in its own
 * threaded example. */
static pthread_mutex_t accept_lock = PTHREAD_MUTEX_INITIALIZER;

static void *serve(void *arg)
{
	FCGX_Request r;
	char buf[16384];

	(void)arg;
	FCGX_InitRequest(&r, sock, 0);
	for (;;) {
		pthread_mutex_lock(&accept_lock);
		int rc = FCGX_Accept_r(&r);
		pthread_mutex_unlock(&accept_lock);
		if (rc < 0)
			break;
		while (FCGX_GetStr(buf, sizeof buf, r.in) > 0) {
			/* the body is read in full, as a real responder would */
		}
		/* libfcgi's own printf knows no %zu */
		FCGX_FPrintF(r.out,
		             "Status: 200 OK\r\nContent-Type: application/json\r\n"
		             "Content-Length: %d\r\n\r\n",
		             (int)(sizeof BODY - 1));
		FCGX_PutStr(BODY, (int)(sizeof BODY - 1), r.out);
		FCGX_Finish_r(&r);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	int threads = 16;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--listen") == 0)
			path = argv[i + 1];
		else if (strcmp(argv[i], "--threads") == 0)
			threads = atoi(argv[i + 1]);
	}
	if (!path || threads < 1 || threads > 1024) {
		fprintf(stderr, "usage: fcgi_hello --listen SOCKET [--threads N]\n");
		return 2;
	}
	if (FCGX_Init() != 0)
		return 1;
	/* libfcgi installs its own SIGTERM handler (finish the request in hand, then stop
	 * accepting), which leaves threads blocked in accept: the benchmark stops the floor
	 * with TERM, so the signal is blocked in every thread and taken by main alone. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	sock = FCGX_OpenSocket(path, 1024);
	if (sock < 0) {
		fprintf(stderr, "fcgi_hello: cannot listen on %s\n", path);
		return 1;
	}
	/* lighttpd's workers run as another account */
	chmod(path, 0666);
	fprintf(stderr, "fcgi_hello: %d threads on %s\n", threads, path);
	for (int i = 0; i < threads; i++) {
		pthread_t t;
		pthread_create(&t, NULL, serve, NULL);
	}
	int sig;
	sigwait(&stop, &sig);
	unlink(path);
	_exit(0);
}
