"""The README's example queries for DBAs, run as a DBA would: each one
works against the views and tables of a migrated database, and EXPLAIN shows
no full scan of a table that grows with traffic (usage_requests, usage_daily,
usage_monthly, billing_periods). The queries are read from the README itself,
so the README cannot drift from what is tested.

To give the optimizer a realistic choice, the test lays down a few thousand
rollup rows of its own apps (days in the past) before asking EXPLAIN."""

import datetime
import os
import re

import gw

README = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "README.md")
GROWING = {"usage_requests", "usage_daily", "usage_monthly", "billing_periods"}
FULL_SCANS = {"ALL", "index"}


def example_queries():
    """The ```sql blocks of the README's "Example queries" section."""
    with open(README, encoding="utf-8") as f:
        text = f.read()
    start = text.index("### Example queries")
    end = text.index("\n## ", start)
    return re.findall(r"```sql\n(.*?)```", text[start:end], re.S)


class DbaQueriesTest(gw.GatewayTest):
    @classmethod
    def setUpClass(cls):
        cls.app_id, cls.admin, cls.client = gw.proxy_app(plan="pro")
        # some real traffic: a usage row, a period
        r = gw.request("POST", gw.chat_path(cls.app_id), token=cls.client,
                       body={"model": "openai/gpt-4o-mini",
                             "messages": [{"role": "user", "content": "hi"}]})
        assert r.status == 200, r
        gw.wait_usage_rows(cls.app_id, 1)
        # history: 40 apps x 90 days in the past
        apps = [gw.create_app(plan="free") for _ in range(40)]
        # (the Sequence engine's seq_30_to_119: one row per day)
        gw.db_query("INSERT INTO usage_daily (app_id, day, model, is_byok, requests, "
                    "prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, cost, "
                    "updated_at) SELECT a.id, UTC_DATE() - INTERVAL s.seq DAY, "
                    "'openai/gpt-4o-mini', 0, 1, 10 * s.seq, s.seq, 0, 0, 0.0001, "
                    "UTC_TIMESTAMP(6) FROM apps AS a JOIN seq_30_to_119 AS s "
                    "WHERE a.id IN (%s)" % ",".join("'%s'" % a for a in apps))
        cls.history_apps = ",".join("'%s'" % a for a in apps)
        gw.db_query("ANALYZE TABLE usage_daily, usage_monthly, usage_requests, billing_periods")
        cls.period = gw.db_query("SELECT id FROM billing_periods WHERE app_id = '%s'"
                                 % cls.app_id)[0]["id"]

    @classmethod
    def tearDownClass(cls):
        # the history has no request rows behind it: it must not stay for
        # whoever checks the whole database afterwards (aigw-admin check)
        if getattr(cls, "history_apps", None):
            gw.db_query("DELETE FROM usage_daily WHERE app_id IN (%s)" % cls.history_apps)

    def queries(self):
        for sql in example_queries():
            yield sql, sql.replace("'demo'", "'%s'" % self.app_id).replace(
                "b.id = 42", "b.id = %s" % self.period)

    def test_readme_has_the_examples(self):
        self.assertGreaterEqual(len(example_queries()), 7)

    def test_each_query_runs(self):
        for original, sql in self.queries():
            with self.subTest(sql=original.splitlines()[0]):
                gw.db_query(sql)  # raises on an error

    def test_no_full_scan_of_a_growing_table(self):
        for original, sql in self.queries():
            with self.subTest(sql=original.splitlines()[0]):
                plan = gw.db_query("EXPLAIN " + sql)
                scans = [(row["table"], row["type"], row.get("key")) for row in plan
                         if row["table"] in GROWING and row["type"] in FULL_SCANS]
                self.assertEqual(scans, [], "full scan in the plan of:\n%s\n%r" % (sql, plan))

    def test_top_apps_first_day_is_the_first_day_of_use(self):
        row = gw.db_query("SELECT first_day, last_day FROM v_top_apps WHERE app_id = '%s'"
                          % self.app_id)
        today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
        self.assertEqual(row, [{"first_day": today, "last_day": today}])

    def test_day_leading_indexes(self):
        for table, column in (("usage_daily", "day"), ("usage_monthly", "month")):
            keys = gw.db_query("SHOW INDEX FROM %s WHERE Seq_in_index = 1 AND Column_name = "
                               "'%s'" % (table, column))
            self.assertTrue(keys, "%s has no index starting with %s" % (table, column))
