/* Unit tests of http/prom_text.c: the Prometheus text exposition writer.
 * Families, label escaping, decimal seconds, and a histogram's cumulative
 * buckets, +Inf, _sum and _count, compared with the exact text. */
#include "config.h"

#include <string.h>

#include "check.h"
#include "prom_text.h"

static void family_and_samples(void)
{
	struct buf b;
	struct prom_label l[2] = {{"endpoint", "chat"}, {"status", "200"}};

	buf_init(&b, 4096);
	prom_family(&b, "aigw_x_total", "counter", "Things\\counted\nhere");
	prom_sample(&b, "aigw_x_total", l, 2, 42);
	prom_sample(&b, "aigw_x_total", NULL, 0, -1);
	CHECK_STR(b.data, "# HELP aigw_x_total Things\\\\counted\\nhere\n"
	                  "# TYPE aigw_x_total counter\n"
	                  "aigw_x_total{endpoint=\"chat\",status=\"200\"} 42\n"
	                  "aigw_x_total -1\n");
	buf_free(&b);
}

static void label_escaping(void)
{
	struct buf b;
	struct prom_label l = {"v", "a\"b\\c\nd"};

	buf_init(&b, 4096);
	prom_sample(&b, "m", &l, 1, 1);
	CHECK_STR(b.data, "m{v=\"a\\\"b\\\\c\\nd\"} 1\n");
	buf_free(&b);
}

static void seconds(void)
{
	struct buf b;

	buf_init(&b, 4096);
	prom_sample_micro(&b, "s", NULL, 0, 0);
	prom_sample_micro(&b, "s", NULL, 0, 1);
	prom_sample_micro(&b, "s", NULL, 0, 250000);
	prom_sample_micro(&b, "s", NULL, 0, 60000000);
	prom_sample_micro(&b, "s", NULL, 0, 1234567);
	CHECK_STR(b.data, "s 0\ns 0.000001\ns 0.25\ns 60\ns 1.234567\n");
	buf_free(&b);
}

static void histogram(void)
{
	static const long long bounds[] = {5000, 1000000, 60000000};
	static const long long counts[] = {1, 3, 3, 4}; /* cumulative; the last is +Inf */
	struct prom_label l = {"endpoint", "chat"};
	struct buf b;

	buf_init(&b, 4096);
	prom_histogram(&b, "h_seconds", &l, 1, bounds, counts, 3, 61500000);
	CHECK_STR(b.data, "h_seconds_bucket{endpoint=\"chat\",le=\"0.005\"} 1\n"
	                  "h_seconds_bucket{endpoint=\"chat\",le=\"1\"} 3\n"
	                  "h_seconds_bucket{endpoint=\"chat\",le=\"60\"} 3\n"
	                  "h_seconds_bucket{endpoint=\"chat\",le=\"+Inf\"} 4\n"
	                  "h_seconds_sum{endpoint=\"chat\"} 61.5\n"
	                  "h_seconds_count{endpoint=\"chat\"} 4\n");
	buf_reset(&b);
	prom_histogram(&b, "t", NULL, 0, bounds, counts, 1, 0);
	CHECK_STR(b.data, "t_bucket{le=\"0.005\"} 1\nt_bucket{le=\"+Inf\"} 3\nt_sum 0\nt_count 3\n");
	buf_free(&b);
}

int main(void)
{
	check_program = "test_prom_text";
	RUN(family_and_samples);
	RUN(label_escaping);
	RUN(seconds);
	RUN(histogram);
	CHECK_DONE();
}
