"""A request whose client is gone before the upstream call is not sent: it
costs nothing and leaves no reservation.

The request is held before its call by a DBA's lock on the app's billing
period (a free app reserves credit first). The test speaks FastCGI to the
pool's socket itself, as the web server does, and goes away the two ways a
web server tells its backend that the client left: closing the connection,
or sending FCGI_ABORT_REQUEST. (Whether a web server notices its client left
before anything was written is its own affair: an orderly close looks like a
half-close, which HTTP/1.1 allows, until a write fails; lighttpd notices a
reset connection only some of the time.) Only the pool kinds have a socket
to talk to: under mod_fcgid Apache owns the processes."""

import json
import socket
import struct
import threading
import time
import unittest

import gw
from test_billing import BillingTest, chat_body

HOLD_S = 2.0
FCGI_BEGIN, FCGI_ABORT, FCGI_END, FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT = 1, 2, 3, 4, 5, 6


def record(kind, content, request_id=1):
    pad = (8 - len(content) % 8) % 8
    return (struct.pack(">BBHHBB", 1, kind, request_id, len(content), pad, 0)
            + content + b"\0" * pad)


def name_value(name, value):
    def length(n):
        return struct.pack(">B", n) if n < 128 else struct.pack(">I", n | 0x80000000)
    n, v = name.encode(), value.encode()
    return length(len(n)) + length(len(v)) + n + v


def load_tests(loader, tests, pattern):
    """No cases where there is no pool socket to talk to (mod_fcgid)."""
    return tests if gw.pool_socket() else unittest.TestSuite()


class ClientGoneEarlyTest(BillingTest):
    def hold_period(self):
        """Locks the app's billing period row for HOLD_S seconds (a thread)."""
        sql = ("START TRANSACTION; SELECT id FROM billing_periods WHERE app_id = '%s' "
               "FOR UPDATE; SELECT SLEEP(%s); COMMIT" % (self.app_id, HOLD_S))
        t = threading.Thread(target=gw.db_query, args=(sql,))
        t.start()
        time.sleep(0.3)  # the lock is taken
        return t

    def send(self):
        """Sends a chat request over FastCGI; returns the connection."""
        body = json.dumps(chat_body(max_tokens=1)).encode()
        path = gw.chat_path(self.app_id)
        params = {
            "REQUEST_METHOD": "POST", "REQUEST_URI": path, "SCRIPT_NAME": "",
            "PATH_INFO": path, "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1",
            "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
            "HTTP_AUTHORIZATION": "Bearer " + self.client, "REMOTE_ADDR": "127.0.0.1",
        }
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(gw.pool_socket())
        s.sendall(record(FCGI_BEGIN, struct.pack(">HB5x", 1, 0))
                  + record(FCGI_PARAMS, b"".join(name_value(k, v) for k, v in params.items()))
                  + record(FCGI_PARAMS, b"") + record(FCGI_STDIN, body) + record(FCGI_STDIN, b""))
        return s

    def open_reservations(self):
        rows = gw.db_query("SELECT COUNT(*) AS n FROM credit_reservations r JOIN "
                           "billing_periods p ON p.id = r.period_id WHERE p.app_id = '%s'"
                           % self.app_id)
        return int(rows[0]["n"])

    def gone(self, how):
        self.make_app("free")
        self.usage_ok()  # the period row exists
        holder = self.hold_period()
        s = self.send()
        time.sleep(0.3)
        if how == "abort":
            s.sendall(record(FCGI_ABORT, b""))
        else:
            s.close()
        holder.join()
        time.sleep(1.0)  # the request went on once the lock was released
        if how == "abort":
            s.close()
        self.assertEqual(self.upstream_calls(), [])
        self.assertEqual(self.open_reservations(), 0)

    def test_connection_closed_before_the_call_not_sent(self):
        self.gone("close")

    def test_request_aborted_before_the_call_not_sent(self):
        self.gone("abort")

    def test_web_server_that_stays_is_answered(self):
        # The same path when nobody leaves: the harness can tell.
        self.make_app("free")
        self.usage_ok()
        holder = self.hold_period()
        s = self.send()
        holder.join()
        s.settimeout(10)
        data = b""
        while b"Status: " not in data and b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        self.assertIn(b"Status: 200", data)
        self.assertEqual(len(self.upstream_calls()), 1)
