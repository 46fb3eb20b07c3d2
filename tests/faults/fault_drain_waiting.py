"""drain_waiting: like drain_cut, with requests not streamed instead of
streams: the pool is stopped (drain_timeout_s = 3) while 4 requests (free
and enterprise apps) wait for an upstream that answers after 15 s, then
started again.

Asserts: each waiting request gets, within the drain + 2 s of the SIGTERM,
a 503 in the error shape with Retry-After; after the start, within 15 s,
every generation the simulator answered (OpenRouter bills a non-streamed
request whose client went away in full, and so does the simulator) has
exactly one usage row, with a cost from the generation record or an
estimate; no reservation is held, the ledger adds up and aigw-admin check is
clean. aigw.conf is restored at the end."""

import fault_drain_cut

NAME = "drain_waiting"
WAITING = 4


def run(ctx):
    return fault_drain_cut.drain_run(ctx, 0, WAITING)
