#!/usr/bin/python3
"""Streams one chat completion through a web server and checks that its SSE
events arrived one by one as the upstream paced them (not buffered into one
write) and that the stream ended with data: [DONE]. Used by
tests/packaging/dropins; exit 0 when it holds, 1 with the reason otherwise."""
import argparse
import http.client
import json
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--app", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--words", type=int, default=6)
    ap.add_argument("--delay-ms", type=int, default=150)
    a = ap.parse_args()

    body = json.dumps({
        "stream": True,
        "messages": [{"role": "user", "content": "Say hello"}],
        # The OpenRouter simulator paces the deltas; the gateway passes it on.
        "sim": {"scenario": "ok", "delay_ms": a.delay_ms, "words": a.words},
    })
    conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=30)
    start = time.monotonic()
    conn.request("POST", "/v1/%s/chat/completions" % a.app, body=body, headers={
        "Authorization": "Bearer " + a.key,
        "Content-Type": "application/json",
        "Accept-Encoding": "gzip, deflate",
    })
    resp = conn.getresponse()
    ctype = resp.getheader("Content-Type", "")
    if resp.status != 200 or not ctype.startswith("text/event-stream"):
        print("status %d, Content-Type %r: %s" % (resp.status, ctype, resp.read(300)))
        return 1
    if resp.getheader("Content-Encoding"):
        print("compressed: Content-Encoding %s" % resp.getheader("Content-Encoding"))
        return 1
    deltas = []   # arrival time of each content delta
    data = []     # every data: payload, in order
    while True:
        line = resp.readline()
        if not line:
            break
        line = line.rstrip(b"\r\n")
        if not line.startswith(b"data: "):
            continue
        payload = line[6:].decode()
        data.append(payload)
        if payload == "[DONE]":
            continue
        ev = json.loads(payload)
        ch = ev.get("choices") or []
        if ch and (ch[0].get("delta") or {}).get("content"):
            deltas.append(time.monotonic() - start)
    conn.close()

    if not data or data[-1] != "[DONE]":
        print("the stream did not end with data: [DONE] (last: %r)" % (data[-1:] or None))
        return 1
    if len(deltas) != a.words:
        print("%d content deltas, expected %d" % (len(deltas), a.words))
        return 1
    gaps = [b - x for x, b in zip(deltas, deltas[1:])]
    # Buffered, every delta arrives in the same read (gaps ~0). One by one,
    # each gap is the simulator's pacing; allow half of it for jitter.
    short = [g for g in gaps if g < a.delay_ms / 2000.0]
    spread = deltas[-1] - deltas[0]
    print("%d deltas, first at %.0f ms, gaps %s ms, then [DONE]" % (
        len(deltas), deltas[0] * 1000, " ".join("%.0f" % (g * 1000) for g in gaps)))
    if short or spread < (a.words - 1) * a.delay_ms / 2000.0:
        print("events arrived together: buffered")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
