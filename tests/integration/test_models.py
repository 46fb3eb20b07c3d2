"""GET /v1/{app}/models[/{model}] through the web server, after `aigw-admin
models sync` from the simulator and `models import FILE`: every field of the
upstream's records kept plus OpenAI's object/owned_by, the upstream list's own
top-level fields kept (links, total_count) with total_count and links.next
true of the app's list, paging with offset/limit (links.next is this
gateway's own path), allowedModels, and the stored list fields in the
database. The models table is synced from the simulator again at the end."""

import http.client
import json
import os
import tempfile
import urllib.parse

import gw
from gw import admin, admin_ok, request

EXTRA = {"id": "vendor/extra", "name": "Extra", "created": 1700000000,
         "pricing": {"prompt": "0.000001", "completion": "0.000002"},
         "nested": {"deep": [1, None, "x"]}}


def sim_list():
    """The simulator's /models answer (what `models sync` stores)."""
    u = urllib.parse.urlsplit(gw.sim_url())
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=gw.HTTP_TIMEOUT)
    try:
        conn.request("GET", "/api/v1/models")
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    if resp.status != 200:
        raise AssertionError("simulator GET /api/v1/models: %d %r" % (resp.status, body))
    return json.loads(body.decode("utf-8"))


def stored_fields():
    rows = gw.db_query("SELECT fields FROM models_list_meta")
    return json.loads(rows[0]["fields"]) if rows else None


class ModelsTest(gw.GatewayTest):
    @classmethod
    def setUpClass(cls):
        cls.app, cls.admin_key, cls.key = gw.proxy_app()
        admin_ok("models", "sync")

    @classmethod
    def tearDownClass(cls):
        # Later modules price requests from the simulator's table.
        admin_ok("models", "sync")

    def list(self, query="", app=None):
        r = request("GET", "/v1/%s/models%s" % (app or self.app, query), token=self.key)
        return self.assertOkJson(r)

    def import_doc(self, doc):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(doc, f)
        try:
            return admin("models", "import", f.name)
        finally:
            os.unlink(f.name)

    def test_list_after_sync_keeps_the_upstream_list(self):
        upstream = sim_list()
        self.assertEqual(set(upstream) - {"data"}, {"links", "total_count"})
        self.assertEqual(stored_fields(), {k: v for k, v in upstream.items() if k != "data"})
        doc = self.list()
        self.assertEqual(list(doc), ["object", "data", "links", "total_count"])
        self.assertEqual(doc["object"], "list")
        self.assertEqual(doc["total_count"], len(upstream["data"]))
        self.assertEqual(doc["links"], {"next": None})
        mine = {m["id"]: m for m in doc["data"]}
        self.assertEqual(set(mine), {m["id"] for m in upstream["data"]})
        for rec in upstream["data"]:
            m = dict(mine[rec["id"]])
            self.assertEqual(m.pop("object"), "model")
            self.assertEqual(m.pop("owned_by"), rec["id"].split("/")[0])
            self.assertEqual(m, rec, "every field of %s as the upstream sent it" % rec["id"])

    def test_total_count_is_the_apps_list(self):
        allowed = ["openai/gpt-4o", "anthropic/claude-3.5-sonnet", "not/synced"]
        r = gw.put_config(self.app, self.admin_key, {"allowedModels": allowed})
        self.assertOkJson(r)
        try:
            doc = self.list()
            self.assertEqual(sorted(m["id"] for m in doc["data"]),
                             ["anthropic/claude-3.5-sonnet", "openai/gpt-4o"])
            self.assertEqual(doc["total_count"], 2)
            doc = self.list("?limit=1")
            self.assertEqual([m["id"] for m in doc["data"]], ["anthropic/claude-3.5-sonnet"])
            self.assertEqual(doc["total_count"], 2)
            self.assertEqual(doc["links"]["next"],
                             "/v1/%s/models?offset=1&limit=1" % self.app)
        finally:
            self.assertOkJson(gw.put_config(self.app, self.admin_key, {"allowedModels": None}))

    def test_paging_follows_links_next(self):
        whole = self.list()
        ids, path, pages = [], "/v1/%s/models?limit=3" % self.app, 0
        while path is not None:
            r = request("GET", path, token=self.key)
            doc = self.assertOkJson(r)
            pages += 1
            self.assertLessEqual(len(doc["data"]), 3)
            self.assertEqual(doc["total_count"], whole["total_count"])
            ids += [m["id"] for m in doc["data"]]
            path = doc["links"]["next"]
            self.assertLess(pages, 10, "links.next never ends")
        self.assertEqual(ids, [m["id"] for m in whole["data"]])
        self.assertEqual(pages, (len(ids) + 2) // 3)
        self.assertEqual(self.list("?offset=%d" % len(ids))["data"], [])
        self.assertEqual([m["id"] for m in self.list("?offset=1")["data"]], ids[1:])

    def test_bad_paging_is_400(self):
        for query, param in (("?limit=0", "limit"), ("?limit=1001", "limit"),
                             ("?offset=-1", "offset"), ("?offset=x&limit=2", "offset")):
            r = request("GET", "/v1/%s/models%s" % (self.app, query), token=self.key)
            self.assertError(r, 400, param=param)

    def test_retrieve_keeps_every_field(self):
        upstream = {m["id"]: m for m in sim_list()["data"]}
        r = request("GET", "/v1/%s/models/openai%%2Fgpt-4o" % self.app, token=self.key)
        m = self.assertOkJson(r)
        self.assertEqual(m.pop("object"), "model")
        self.assertEqual(m.pop("owned_by"), "openai")
        self.assertEqual(m, upstream["openai/gpt-4o"])

    def test_import_stores_the_list_fields(self):
        base = sim_list()
        doc = {"links": {"next": "/api/v1/models?offset=8&limit=8", "prev": None},
               "data": base["data"] + [EXTRA], "total_count": 999,
               "object": "list", "region": {"name": "eu"}}
        r = self.import_doc(doc)
        self.assertEqual(r.rc, 0, repr(r))
        self.assertEqual(r.out, "imported %d models\n" % len(doc["data"]))
        self.assertEqual(stored_fields(), {"links": doc["links"], "total_count": 999,
                                           "object": "list", "region": {"name": "eu"}})
        got = self.list()
        self.assertEqual(list(got), ["object", "data", "links", "total_count", "region"])
        self.assertEqual(got["total_count"], len(doc["data"]))
        # the whole list was answered: no next page, other links as stored
        self.assertEqual(got["links"], {"next": None, "prev": None})
        self.assertEqual(got["region"], {"name": "eu"})
        extra = [m for m in got["data"] if m["id"] == "vendor/extra"][0]
        self.assertEqual(extra["nested"], EXTRA["nested"])
        self.assertEqual(extra["owned_by"], "vendor")

        # a refused document leaves records and list fields as they were
        big = dict(doc, pad="x" * 70000)
        r = self.import_doc(big)
        self.assertEqual(r.rc, 1, repr(r))
        self.assertIn("nothing stored", r.err)
        self.assertEqual(stored_fields()["total_count"], 999)
        self.assertEqual(self.list()["total_count"], len(doc["data"]))

        # a sync puts the simulator's list back, fields included
        admin_ok("models", "sync")
        self.assertEqual(stored_fields(), {"links": {"next": None},
                                           "total_count": len(base["data"])})
        self.assertNotIn("region", self.list())
