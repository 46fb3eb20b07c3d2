"""Concurrency smoke test: many simultaneous requests through the web server
to the threaded pool, all answered correctly, nothing crashes."""

import threading

import gw

PARALLEL = 50


def run_parallel(fn, n):
    """Runs fn(i) in n threads released together; returns results or exceptions."""
    barrier = threading.Barrier(n)
    results = [None] * n

    def worker(i):
        try:
            barrier.wait(timeout=30)
            results[i] = fn(i)
        except Exception as e:  # reported by the caller
            results[i] = e

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=gw.HTTP_TIMEOUT * 3)
    return results


class ConcurrencyTest(gw.GatewayTest):
    def test_parallel_get_config(self):
        app_id, token = gw.app_with_admin_key()
        gw.put_config(app_id, token, {"maxTokensPerRequest": 123})
        results = run_parallel(lambda i: gw.get_config(app_id, token), PARALLEL)
        bad = [r for r in results
               if not isinstance(r, gw.Response) or r.status != 200
               or r.json().get("maxTokensPerRequest") != 123]
        self.assertEqual(bad, [], "%d of %d failed" % (len(bad), PARALLEL))
        ids = {r.header("x-request-id") for r in results}
        self.assertEqual(len(ids), PARALLEL, "request ids not unique")
        # Still alive afterwards.
        self.assertEqual(gw.request("GET", "/v1/health").status, 200)

    def test_parallel_mixed_apps(self):
        apps = [gw.app_with_admin_key() for _ in range(5)]

        def call(i):
            app_id, token = apps[i % len(apps)]
            if i % 2:
                value = 100 + i % len(apps)
                return app_id, gw.put_config(app_id, token, {"maxTokensPerRequest": value})
            return app_id, gw.get_config(app_id, token)

        results = run_parallel(call, PARALLEL)
        bad = []
        for res in results:
            if not isinstance(res, tuple):
                bad.append(res)
                continue
            app_id, r = res
            if r.status != 200 or r.json().get("appId") != app_id:
                bad.append(r)
        self.assertEqual(bad, [], "%d of %d failed" % (len(bad), PARALLEL))
        for i, (app_id, token) in enumerate(apps):
            # Every app got PUTs (odd i), all with the value 100 + its index.
            self.assertEqual(gw.get_config(app_id, token).json()["maxTokensPerRequest"],
                             100 + i)

    def test_parallel_put_same_app(self):
        # Concurrent writers of one app's config must all succeed (a database
        # deadlock between them is the server's to retry, not the client's).
        app_id, token = gw.app_with_admin_key()
        n = 30
        results = run_parallel(
            lambda i: gw.put_config(app_id, token, {"maxTokensPerRequest": 1000 + i,
                                                    "allowedModels": ["m/%d" % i]}), n)
        bad = [r for r in results if not isinstance(r, gw.Response) or r.status != 200]
        self.assertEqual(bad, [], "%d of %d concurrent PUTs failed" % (len(bad), n))
        cfg = gw.get_config(app_id, token).json()
        i = cfg["maxTokensPerRequest"] - 1000
        self.assertIn(i, range(n))
        self.assertEqual(cfg["allowedModels"], ["m/%d" % i], "fields from different PUTs mixed")

    def test_parallel_first_put_many_apps(self):
        # The first config of many apps at once: inserts into neighbouring
        # index gaps must not fail each other (deadlocks are retried).
        apps = [gw.app_with_admin_key() for _ in range(20)]
        results = run_parallel(
            lambda i: gw.put_config(apps[i][0], apps[i][1], {"maxTokensPerRequest": 500 + i}),
            len(apps))
        bad = [r for r in results if not isinstance(r, gw.Response) or r.status != 200]
        self.assertEqual(bad, [], "%d of %d first PUTs failed" % (len(bad), len(apps)))
        for i, (app_id, token) in enumerate(apps):
            self.assertEqual(gw.get_config(app_id, token).json()["maxTokensPerRequest"], 500 + i)
