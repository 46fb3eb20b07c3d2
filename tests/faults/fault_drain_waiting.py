"""drain_waiting: like drain_cut, with requests not streamed instead of
streams: the pool is stopped (drain_timeout_s = 3) while 4 requests (free
and enterprise apps) wait for an upstream that answers after 15 s, then
started again.

Asserts: each waiting request gets, within the drain + 2 s of the SIGTERM,
a 503 in the error shape with Retry-After; the worker still awaits the
upstream's answer (OpenRouter bills a non-streamed request in full whether
or not its client stays, and so does the simulator), so the pool stops once
the upstream has answered (within the drain + 15 s + 5 s); after the start,
within 15 s, every generation the simulator answered has exactly one usage
row, with status 503 (what the client got) and the upstream's own cost; no
reservation is held, the ledger adds up and aigw-admin check is clean.
aigw.conf is restored at the end."""

import fault_drain_cut

NAME = "drain_waiting"
WAITING = 4


def run(ctx):
    return fault_drain_cut.drain_run(ctx, 0, WAITING)
