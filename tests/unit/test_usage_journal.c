/* Unit tests of the usage journal (handlers/usage_journal.c) and its line
 * format (handlers/journal_record.c), without a database: lines print and
 * parse back field for field, a torn or altered line is refused; a journal
 * keeps its files while a row is not landed or a request is pinned and
 * deletes them once settled; another process's files are adopted only when
 * that process is gone (flock), with their entries, landed mark and damaged
 * lines; a journal over journal_max_mb stops accepting; threads sharing the
 * flush all return with their rows on disk. */
#include "config.h"

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "log.h"
#include "usage_journal.h"

static char root[64];
static int seq;

static const char *new_dir(char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/j%d", root, ++seq);
	return buf;
}

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL)
		n += strstr(de->d_name, ".journal") != NULL;
	closedir(d);
	return n;
}

static struct usage_record sample(int i)
{
	struct usage_record r;

	memset(&r, 0, sizeof(r));
	snprintf(r.request_id, sizeof(r.request_id), "req_%024d", i);
	snprintf(r.app_id, sizeof(r.app_id), "app-%d", i % 3);
	r.key_id = 7 + i;
	r.endpoint = i % 2 ? "embeddings" : "chat";
	snprintf(r.model_requested, sizeof(r.model_requested), "openai/gpt-4o-mini");
	snprintf(r.model_billed, sizeof(r.model_billed), "openai/gpt-4o-\"mini\"\\é");
	snprintf(r.generation_id, sizeof(r.generation_id), "gen-%d", i);
	r.prompt_tokens = 1000000007LL + i;
	r.completion_tokens = 42;
	r.cached_tokens = 3;
	r.reasoning_tokens = 5;
	r.cost = 9000000000000000001LL; /* beyond a double's exact integers */
	r.cost_source = COST_GENERATION;
	r.is_byok = i % 2;
	r.status = 200;
	snprintf(r.error, sizeof(r.error), "upstream_error");
	r.streamed = true;
	r.aborted = i % 3 == 0;
	r.ttft_us = 1234;
	r.duration_us = 99999;
	r.reservation_id = 11;
	r.period_id = 12;
	return r;
}

static void test_line_round_trip(void)
{
	struct journal_entry e = {.kind = JOURNAL_DONE, .rec = sample(1)}, back;
	char line[JOURNAL_LINE_MAX];
	size_t len = journal_line_print(&e, line, sizeof(line));

	CHECK(len > 20);
	CHECK(line[len - 1] == '\n');
	CHECK_INT(journal_line_parse(line, len, &back), AIGW_OK);
	CHECK_INT(back.kind, JOURNAL_DONE);
	CHECK_STR(back.rec.request_id, e.rec.request_id);
	CHECK_STR(back.rec.app_id, e.rec.app_id);
	CHECK_STR(back.rec.endpoint, "embeddings");
	CHECK_STR(back.rec.model_billed, e.rec.model_billed);
	CHECK_STR(back.rec.generation_id, "gen-1");
	CHECK_INT(back.rec.key_id, 8);
	CHECK_INT(back.rec.prompt_tokens, 1000000008LL);
	CHECK(back.rec.cost == 9000000000000000001LL);
	CHECK_INT(back.rec.cost_source, COST_GENERATION);
	CHECK(back.rec.is_byok && back.rec.streamed && !back.rec.aborted);
	CHECK_INT(back.rec.status, 200);
	CHECK_STR(back.rec.error, "upstream_error");
	CHECK_INT(back.rec.ttft_us, 1234);
	CHECK_INT(back.rec.duration_us, 99999);
	CHECK_INT(back.rec.reservation_id, 11);
	CHECK_INT(back.rec.period_id, 12);

	struct journal_entry h = {.kind = JOURNAL_HOLD, .rec = sample(2), .amount = 24745500};
	len = journal_line_print(&h, line, sizeof(line));
	CHECK_INT(journal_line_parse(line, len, &back), AIGW_OK);
	CHECK_INT(back.kind, JOURNAL_HOLD);
	CHECK(back.amount == 24745500);
	CHECK_STR(back.rec.request_id, h.rec.request_id);

	struct journal_entry o = {.kind = JOURNAL_OPEN, .rec = sample(3), .sent_bytes = 113};
	len = journal_line_print(&o, line, sizeof(line));
	CHECK_INT(journal_line_parse(line, len, &back), AIGW_OK);
	CHECK_INT(back.kind, JOURNAL_OPEN);
	CHECK_INT(back.sent_bytes, 113);
	CHECK_STR(back.rec.generation_id, "gen-3");
}

static void test_damaged_lines_refused(void)
{
	struct journal_entry e = {.kind = JOURNAL_DONE, .rec = sample(4)}, back;
	char line[JOURNAL_LINE_MAX], copy[JOURNAL_LINE_MAX];
	size_t len = journal_line_print(&e, line, sizeof(line));

	/* torn: every shorter prefix is refused */
	for (size_t cut = 0; cut + 1 < len; cut += 7)
		CHECK_INT(journal_line_parse(line, cut, &back), AIGW_EINVAL);
	/* one byte changed anywhere is refused */
	for (size_t i = 0; i + 1 < len; i += 5) {
		memcpy(copy, line, len);
		copy[i] ^= 0x01;
		CHECK_INT(journal_line_parse(copy, len, &back), AIGW_EINVAL);
	}
	CHECK_INT(journal_line_parse("", 0, &back), AIGW_EINVAL);
	/* a valid hash over a record missing a field */
	struct journal_entry l = {.kind = JOURNAL_LANDED, .lsn = 5};
	len = journal_line_print(&l, line, sizeof(line));
	CHECK_INT(journal_line_parse(line, len, &back), AIGW_OK);
	CHECK_INT(back.lsn, 5);
	/* a line that does not fit is not printed */
	CHECK_INT(journal_line_print(&e, line, 64), 0);
}

static void test_files_kept_until_settled(void)
{
	char dir[96], err[AIGW_ERRLEN];
	struct usage_journal *j = NULL;
	struct journal_ticket t = {0};
	struct usage_record r = sample(5);
	struct journal_entry hold = {.kind = JOURNAL_HOLD, .rec = r, .amount = 1};
	long long at;

	CHECK_INT(usage_journal_open(new_dir(dir, sizeof(dir)), "aaaa", 1 << 20, &j, err), AIGW_OK);
	CHECK_INT(count_files(dir), 1);
	CHECK(usage_journal_note(j, &t, &hold));
	CHECK(t.seg != 0);
	at = usage_journal_done(j, &t, &r);
	CHECK(at > 0);
	CHECK_INT(t.seg, 0);
	usage_journal_sync(j, at);
	/* not landed: the file stays for an adopter */
	usage_journal_close(j);
	CHECK_INT(count_files(dir), 1);

	/* landed and nothing pinned: deleted at close */
	CHECK_INT(usage_journal_open(new_dir(dir, sizeof(dir)), "aaaa", 1 << 20, &j, err), AIGW_OK);
	at = usage_journal_done(j, NULL, &r);
	usage_journal_sync(j, at);
	usage_journal_landed(j, at);
	usage_journal_close(j);
	CHECK_INT(count_files(dir), 0);

	/* a request still pinned keeps it */
	CHECK_INT(usage_journal_open(new_dir(dir, sizeof(dir)), "aaaa", 1 << 20, &j, err), AIGW_OK);
	t.seg = 0;
	CHECK(usage_journal_note(j, &t, &hold));
	usage_journal_close(j);
	CHECK_INT(count_files(dir), 1);
}

static void test_full_journal_refuses(void)
{
	char dir[96], err[AIGW_ERRLEN];
	struct usage_journal *j = NULL;
	struct usage_record r = sample(6);
	struct usage_journal_stats st;
	int written = 0;

	CHECK_INT(usage_journal_open(new_dir(dir, sizeof(dir)), "bbbb", 4096, &j, err), AIGW_OK);
	CHECK(usage_journal_accepting(j));
	for (int i = 0; i < 20; i++)
		written += usage_journal_done(j, NULL, &r) > 0;
	CHECK(written > 0 && written < 20);
	CHECK(!usage_journal_accepting(j));
	usage_journal_stats(j, &st);
	CHECK(st.bytes <= 4096);
	CHECK(st.failures >= 20 - written);
	usage_journal_close(j);
}

/* Segments roll over at JOURNAL_SEGMENT_BYTES and settled ones go. */
static void test_segments_trimmed(void)
{
	char dir[96], err[AIGW_ERRLEN];
	struct usage_journal *j = NULL;
	struct usage_record r = sample(7);
	struct usage_journal_stats st;
	long long at = 0;

	CHECK_INT(usage_journal_open(new_dir(dir, sizeof(dir)), "cccc", 1LL << 30, &j, err),
	          AIGW_OK);
	while (at < 2 * JOURNAL_SEGMENT_BYTES + 1000)
		at = usage_journal_done(j, NULL, &r);
	usage_journal_stats(j, &st);
	CHECK(st.files >= 3);
	CHECK(count_files(dir) >= 3);
	usage_journal_landed(j, at);
	CHECK_INT(count_files(dir), 1);
	usage_journal_stats(j, &st);
	CHECK_INT(st.files, 1);
	usage_journal_close(j);
	CHECK_INT(count_files(dir), 0);
}

struct flusher {
	struct usage_journal *j;
	int base;
};

static void *flush_many(void *arg)
{
	struct flusher *f = arg;

	for (int i = 0; i < 200; i++) {
		struct usage_record r = sample(f->base + i);
		long long at = usage_journal_done(f->j, NULL, &r);
		usage_journal_sync(f->j, at);
	}
	return NULL;
}

/* 8 threads x 200 rows: every row durable when its call returns, and far
 * fewer flushes than rows (they are shared). */
static void test_group_commit(void)
{
	char dir[96], err[AIGW_ERRLEN];
	struct usage_journal *j = NULL;
	pthread_t tid[8];
	struct flusher f[8];
	struct usage_journal_stats st;

	CHECK_INT(usage_journal_open(new_dir(dir, sizeof(dir)), "dddd", 1LL << 30, &j, err),
	          AIGW_OK);
	for (int i = 0; i < 8; i++) {
		f[i] = (struct flusher){j, i * 1000};
		pthread_create(&tid[i], NULL, flush_many, &f[i]);
	}
	for (int i = 0; i < 8; i++)
		pthread_join(tid[i], NULL);
	usage_journal_stats(j, &st);
	CHECK_INT(st.synced, 1600);
	CHECK(st.syncs >= 1 && st.syncs <= 1600);
	printf("group commit: 1600 rows, %lld fdatasync calls\n", st.syncs);
	usage_journal_close(j);
}

/* A child journals and dies; we adopt its records, and not while it lives. */
static void test_adoption(void)
{
	char dir[96], err[AIGW_ERRLEN];
	struct usage_journal *mine = NULL;
	struct journal_orphan *o = NULL;
	int ready[2], go[2];
	pid_t pid;
	char c;

	new_dir(dir, sizeof(dir));
	CHECK_INT(usage_journal_open(dir, "eeee", 1 << 20, &mine, err), AIGW_OK);
	if (pipe(ready) != 0 || pipe(go) != 0)
		return;
	pid = fork();
	if (pid == 0) {
		struct usage_journal *j = NULL;
		struct journal_ticket t = {0}, t2 = {0};
		struct usage_record a = sample(10), b = sample(11), d = sample(12);
		struct journal_entry open_b = {.kind = JOURNAL_OPEN, .rec = b, .sent_bytes = 99};
		struct journal_entry hold_d = {.kind = JOURNAL_HOLD, .rec = d, .amount = 77};
		long long at;

		if (usage_journal_open(dir, "eeee", 1 << 20, &j, err) != AIGW_OK)
			_exit(1);
		at = usage_journal_done(j, NULL, &a); /* landed */
		usage_journal_landed(j, at);
		a.request_id[4] = 'x';
		usage_journal_done(j, NULL, &a); /* not landed */
		usage_journal_note(j, &t, &open_b);
		usage_journal_note(j, &t2, &hold_d);
		if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(1);
		_exit(0); /* dies without closing: files and pins stay */
	}
	CHECK(read(ready[0], &c, 1) == 1);
	/* alive: its files are locked */
	CHECK_INT(usage_journal_adopt(dir, "eeee", mine, &o, err), AIGW_ENOTFOUND);
	/* another tag never sees them */
	CHECK(write(go[1], "g", 1) == 1);
	waitpid(pid, NULL, 0);
	CHECK_INT(usage_journal_adopt(dir, "ffff", NULL, &o, err), AIGW_ENOTFOUND);
	CHECK_INT(usage_journal_adopt(dir, "eeee", mine, &o, err), AIGW_OK);
	if (o) {
		size_t done = 0, opens = 0, holds = 0, unlanded = 0;
		for (size_t i = 0; i < o->n; i++) {
			const struct journal_entry *e = &o->entries[i];
			done += e->kind == JOURNAL_DONE;
			opens += e->kind == JOURNAL_OPEN;
			holds += e->kind == JOURNAL_HOLD;
			unlanded += e->kind == JOURNAL_DONE && e->lsn > o->landed;
			if (e->kind == JOURNAL_OPEN)
				CHECK_INT(e->sent_bytes, 99);
			if (e->kind == JOURNAL_HOLD)
				CHECK(e->amount == 77);
		}
		CHECK_INT(done, 2);
		CHECK_INT(unlanded, 1);
		CHECK_INT(opens, 1);
		CHECK_INT(holds, 1);
		CHECK_INT(o->damaged, 0);
		/* while we hold it, nobody else adopts it */
		struct journal_orphan *again = NULL;
		CHECK_INT(usage_journal_adopt(dir, "eeee", mine, &again, err), AIGW_ENOTFOUND);
		usage_journal_orphan_done(o, true);
	}
	/* only our own file is left, and ours is never adopted */
	CHECK_INT(count_files(dir), 1);
	CHECK_INT(usage_journal_adopt(dir, "eeee", mine, &o, err), AIGW_ENOTFOUND);
	usage_journal_close(mine);
}

/* A torn last line (a crash mid-write) is counted and skipped. */
static void test_adoption_skips_torn_tail(void)
{
	char dir[96], err[AIGW_ERRLEN], path[256];
	struct journal_orphan *o = NULL;
	struct journal_entry e = {.kind = JOURNAL_DONE, .rec = sample(20)};
	char line[JOURNAL_LINE_MAX];
	size_t len;
	FILE *f;

	mkdir(new_dir(dir, sizeof(dir)), 0700);
	snprintf(path, sizeof(path), "%s/abcd-1-2-1.journal", dir);
	f = fopen(path, "w");
	struct journal_entry head = {.kind = JOURNAL_SEGMENT, .lsn = 0};
	len = journal_line_print(&head, line, sizeof(line));
	fwrite(line, 1, len, f);
	len = journal_line_print(&e, line, sizeof(line));
	fwrite(line, 1, len, f);
	fwrite(line, 1, len / 2, f);
	fclose(f);
	CHECK_INT(usage_journal_adopt(dir, "abcd", NULL, &o, err), AIGW_OK);
	if (o) {
		CHECK_INT(o->n, 1);
		CHECK_INT(o->damaged, 1);
		CHECK_STR(o->entries[0].rec.request_id, e.rec.request_id);
		usage_journal_orphan_done(o, true);
	}
	CHECK_INT(count_files(dir), 0);
}

int main(void)
{
	char cmd[128];

	check_program = "usage_journal";
	snprintf(root, sizeof(root), "/tmp/aigw-journal-test-%ld", (long)getpid());
	mkdir(root, 0700);
	RUN(test_line_round_trip);
	RUN(test_damaged_lines_refused);
	RUN(test_files_kept_until_settled);
	RUN(test_full_journal_refuses);
	RUN(test_segments_trimmed);
	RUN(test_group_commit);
	RUN(test_adoption);
	RUN(test_adoption_skips_torn_tail);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", root);
	CHECK_DONE();
}
