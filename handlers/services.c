/* Starting and stopping a process's shared services (services.h), and the
 * cache's poller thread. */
#include "config.h"

#include "services.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "app_cache.h"
#include "clock.h"
#include "conffile.h"
#include "db.h"
#include "hash.h"
#include "host_limits.h"
#include "log.h"
#include "usage_journal.h"
#include "usage_recovery.h"
#include "usage_writer.h"

#define POLL_INTERVAL_MS 1000

struct services_impl {
	struct services pub; /* first: a struct services * is a struct services_impl * */
	struct db *poll_db;
	struct usage_recovery *recovery;
	char db_tag[17]; /* the database's name in shared file names */
	atomic_bool cut;
	pthread_t poller;
	pthread_mutex_t mu;
	pthread_cond_t stop_cv;
	bool stopping;
	bool poll_failing;
};

static void *poller_main(void *arg)
{
	struct services_impl *s = arg;
	char err[AIGW_ERRLEN];

	pthread_mutex_lock(&s->mu);
	while (!s->stopping) {
		struct timespec until;
		aigw_rc rc;

		pthread_mutex_unlock(&s->mu);
		/* a worker killed while holding requests frees its counts here */
		limits_reclaim(s->pub.limits);
		rc = app_cache_poll(s->pub.cache, s->poll_db, err);
		if (rc != AIGW_OK && !s->poll_failing)
			log_warn("cache: cannot read the change feed (%s); cached apps are loaded "
			         "again after 1 s until it answers",
			         err);
		else if (rc == AIGW_OK && s->poll_failing)
			log_info("cache: the change feed answers again");
		s->poll_failing = rc != AIGW_OK;
		pthread_mutex_lock(&s->mu);
		until = clock_deadline_us(POLL_INTERVAL_MS * 1000LL);
		if (!s->stopping)
			pthread_cond_timedwait(&s->stop_cv, &s->mu, &until);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* The database's name in the files processes of one host share (the
 * limits table, the journals): a hash of where the database is. */
static void db_tag(const struct aigw_conf *conf, char out[17])
{
	/* a socket path and a host name each fit PATH_MAX: nothing is cut */
	char id[2 * 4096 + 64];

	snprintf(id, sizeof(id), "%s|%s|%d|%s", conf->db_socket ? conf->db_socket : "",
	         conf->db_host ? conf->db_host : "", conf->db_port,
	         conf->db_name ? conf->db_name : "");
	snprintf(out, 17, "%016llx", (unsigned long long)hash_fnv1a(id, strlen(id)));
}

/* The limits table: conf limits_file, else a file in /dev/shm named after
 * the user and the database, so that the processes of one host that share a
 * database share the table and other stacks do not. */
static struct limits *open_limits(const struct aigw_conf *conf, const char *tag)
{
	char dflt[96], err[AIGW_ERRLEN];
	const char *path = conf->limits_file;
	struct limits *l = NULL;

	if (!path || !path[0]) {
		snprintf(dflt, sizeof(dflt), "/dev/shm/aigw-limits-%lu-%s", (unsigned long)getuid(),
		         tag);
		path = dflt;
	}
	if (limits_open(path, NULL, &l, err) != AIGW_OK) {
		log_error("limits: %s; requests in flight and per minute are not limited, and "
		          "config changes reach the other processes through the database's change "
		          "feed only (within about 1 s)",
		          err);
		return NULL;
	}
	return l;
}

/* Frees what services_start made, its threads already gone. */
static void release(struct services_impl *s)
{
	pthread_cond_destroy(&s->stop_cv);
	pthread_mutex_destroy(&s->mu);
	db_free(s->poll_db);
	usage_journal_close(s->pub.journal);
	app_cache_free(s->pub.cache);
	limits_close(s->pub.limits);
	db_pool_free(s->pub.db_pool);
	free(s);
}

struct services *services_start(const struct aigw_conf *conf)
{
	struct services_impl *s = xcalloc(1, sizeof(*s));
	int n = conf->db_connections > 0 ? conf->db_connections : 1;
	char err[AIGW_ERRLEN];

	atomic_init(&s->cut, false);
	db_tag(conf, s->db_tag);
	s->pub.db_pool =
	        db_pool_new(conf, (size_t)n, conf->db_wait_ms > 0 ? conf->db_wait_ms : 5000);
	s->pub.limits = open_limits(conf, s->db_tag);
	s->pub.cache = app_cache_new(conf, s->pub.limits);
	s->poll_db = db_new_pooled(s->pub.db_pool);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->stop_cv, NULL);
	/* No journal, no requests: a usage row must not live in memory only. */
	if (usage_journal_open(conf->journal_dir, s->db_tag,
	                       (long long)conf->journal_max_mb * 1024 * 1024, &s->pub.journal,
	                       err) != AIGW_OK) {
		log_error("%s (journal_dir); the worker cannot start", err);
		goto fail;
	}
	s->pub.writer = usage_writer_start(conf, s->pub.db_pool, s->pub.journal);
	if (!s->pub.writer)
		goto fail;
	s->recovery = usage_recovery_start(conf, s->db_tag, s->pub.journal, s->pub.writer,
	                                   s->pub.db_pool);
	if (!s->recovery) {
		usage_writer_stop(s->pub.writer, 0);
		goto fail;
	}
	if (pthread_create(&s->poller, NULL, poller_main, s) != 0) {
		log_error("cache: cannot start the poller thread");
		usage_recovery_stop(s->recovery);
		usage_writer_stop(s->pub.writer, 0);
		goto fail;
	}
	return &s->pub;
fail:
	release(s);
	return NULL;
}

void services_stop(struct services *pub, int drain_ms)
{
	struct services_impl *s = (struct services_impl *)pub;

	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	pthread_cond_broadcast(&s->stop_cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->poller, NULL);
	usage_recovery_stop(s->recovery);
	usage_writer_stop(s->pub.writer, drain_ms);
	release(s);
}

void services_cut_requests(struct services *pub)
{
	atomic_store(&((struct services_impl *)pub)->cut, true);
}

bool services_cutting(const struct services *pub)
{
	return pub && atomic_load(&((const struct services_impl *)pub)->cut);
}
