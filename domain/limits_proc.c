/* The limits table's process slots: each process counts its requests in
 * flight under a slot it claims with its pid and start time, so the counts
 * of a process that died (kill -9, a crash) can be found and dropped. A slot
 * is dead when its pid does not exist, is a zombie, or now belongs to a
 * process that started at another time (the pid was reused). */
#include "config.h"

#include "limits_shm.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "proc_id.h"

static _Atomic unsigned fork_gen;
static pthread_mutex_t claim_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void in_child(void)
{
	/* only this thread survived the fork: whoever held the lock is gone */
	pthread_mutex_init(&claim_lock, NULL);
	atomic_fetch_add_explicit(&fork_gen, 1, memory_order_release);
}

static void register_atfork(void)
{
	pthread_atfork(NULL, NULL, in_child);
}

unsigned lim_fork_gen(void)
{
	return atomic_load_explicit(&fork_gen, memory_order_acquire);
}

static void raise_procs_hi(struct limits *l, uint32_t hi)
{
	uint32_t cur = atomic_load(&l->h->procs_hi);

	while (cur < hi && !atomic_compare_exchange_weak(&l->h->procs_hi, &cur, hi))
		;
}

/* Zeroes slot p's in-flight counters; returns what they held. */
static unsigned long long drop_counts(struct limits *l, uint32_t p)
{
	unsigned long long dropped = 0;

	for (uint32_t a = 0; a < l->n_apps; a++) {
		_Atomic uint32_t *c = lim_held(l, a, p);

		if (atomic_load_explicit(c, memory_order_relaxed) != 0)
			dropped += atomic_exchange(c, 0);
	}
	return dropped;
}

void lim_claim(struct limits *l)
{
	unsigned long long start = 0;
	pid_t pid = getpid();
	uint32_t i;

	pthread_once(&atfork_once, register_atfork);
	atomic_store(&l->proc, -1);
	start = proc_start_time(pid);
	for (i = 0; i < l->n_procs; i++) {
		struct lim_proc *s = lim_proc_at(l, i);
		int32_t expect = 0;

		if (atomic_compare_exchange_strong(&s->pid, &expect, (int32_t)pid)) {
			atomic_store(&s->start, start);
			raise_procs_hi(l, i + 1);
			atomic_store(&l->proc, (int32_t)i);
			break;
		}
	}
	atomic_store_explicit(&l->gen, lim_fork_gen(), memory_order_release);
	if (i == l->n_procs && !(atomic_fetch_or(&l->logged, LIM_LOGGED_PROCS) & LIM_LOGGED_PROCS))
		log_error("limits: all %u process slots are taken: requests in flight of "
		          "process %d are not limited",
		          l->n_procs, (int)pid);
}

int32_t lim_own_proc(struct limits *l)
{
	if (atomic_load_explicit(&l->gen, memory_order_acquire) != lim_fork_gen()) {
		pthread_mutex_lock(&claim_lock);
		if (atomic_load_explicit(&l->gen, memory_order_acquire) != lim_fork_gen())
			lim_claim(l);
		pthread_mutex_unlock(&claim_lock);
	}
	return atomic_load_explicit(&l->proc, memory_order_relaxed);
}

void lim_release(struct limits *l)
{
	int32_t p = atomic_load(&l->proc);
	struct lim_proc *s;
	int32_t pid;

	if (p < 0 || atomic_load(&l->gen) != lim_fork_gen())
		return; /* not ours: a parent's, inherited over fork */
	s = lim_proc_at(l, (uint32_t)p);
	pid = (int32_t)getpid();
	if (!atomic_compare_exchange_strong(&s->pid, &pid, -1))
		return;
	drop_counts(l, (uint32_t)p);
	atomic_store(&s->start, 0);
	atomic_store(&s->pid, 0);
	atomic_store(&l->proc, -1);
}

int limits_reclaim(struct limits *l)
{
	uint32_t hi, i;
	int n = 0;

	if (!l)
		return 0;
	hi = atomic_load(&l->h->procs_hi);
	for (i = 0; i < hi && i < l->n_procs; i++) {
		struct lim_proc *s = lim_proc_at(l, i);
		int32_t pid = atomic_load(&s->pid);
		unsigned long long dropped;

		if (pid <= 0 || (int32_t)i == atomic_load(&l->proc))
			continue;
		if (proc_alive((pid_t)pid, atomic_load(&s->start)))
			continue;
		if (!atomic_compare_exchange_strong(&s->pid, &pid, -1))
			continue; /* someone else reclaims it */
		dropped = drop_counts(l, i);
		atomic_store(&s->start, 0);
		atomic_store(&s->pid, 0);
		n++;
		log_warn("limits: process %d is gone; its slot is reclaimed and its %llu "
		         "request(s) in flight no longer count",
		         (int)pid, dropped);
	}
	return n;
}

int lim_sweep(struct limits *l, long long now_s)
{
	int64_t last = atomic_load(&l->h->last_sweep_s);

	if (last == now_s || !atomic_compare_exchange_strong(&l->h->last_sweep_s, &last, now_s))
		return 0;
	return limits_reclaim(l);
}
