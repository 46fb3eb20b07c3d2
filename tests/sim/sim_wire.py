"""Response writing for the OpenRouter simulator with prompt client-abort detection:
every write and every wait first polls the connection for EOF (poll + MSG_PEEK), so a
closed client is noticed within ~50 ms, and write errors count as an abort too."""

import math
import select
import socket
import time

POLL_S = 0.05


class ClientGone(Exception):
    """The client closed its connection (or a write failed) before the answer ended."""


class Wire:
    """Writes one response on the handler's connection.

    framing: "length" (Content-Length, keep-alive), "chunked" (Transfer-Encoding: chunked,
    keep-alive) or "close" (no length; the end of the body is the connection close)."""

    def __init__(self, handler, reason_phrases):
        self.h = handler
        self.sock = handler.connection
        self.reasons = reason_phrases
        self.framing = None
        self.started = False
        self.closed_at = None
        self.bytes = 0

    # -- abort detection --------------------------------------------------------
    def _readable(self, timeout_s):
        """poll() (not select: no FD_SETSIZE limit) for input, EOF or error."""
        p = select.poll()
        p.register(self.sock, select.POLLIN | select.POLLPRI | select.POLLHUP | select.POLLERR)
        return bool(p.poll(math.ceil(timeout_s * 1000)))

    def peer_closed(self):
        """True when the client has closed (EOF or reset); never blocks."""
        try:
            if not self._readable(0):
                return False
            data = self.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            return data == b""
        except (BlockingIOError, InterruptedError):
            return False
        except (OSError, ValueError):
            return True

    def gone(self):
        """Record the close and raise ClientGone."""
        if self.closed_at is None:
            self.closed_at = time.monotonic()
        self.h.close_connection = True
        raise ClientGone()

    def check(self):
        if self.peer_closed():
            self.gone()

    def wait(self, seconds):
        """Sleep `seconds`, raising ClientGone as soon as the client closes."""
        deadline = time.monotonic() + max(0.0, seconds)
        while True:
            self.check()
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                readable = self._readable(min(left, POLL_S))
            except (OSError, ValueError):
                self.gone()
            if readable and not self.peer_closed():
                # Pipelined bytes of a next request: not a close; avoid a busy loop.
                time.sleep(min(max(0.0, deadline - time.monotonic()), POLL_S))

    # -- writing ----------------------------------------------------------------
    def start(self, status, headers, framing="length", length=None):
        """Status line and headers.  headers: list of (name, value)."""
        self.check()
        self.framing = framing
        h = self.h
        h.send_response(status, self.reasons.get(status))
        for name, value in headers:
            h.send_header(name, value)
        if framing == "length":
            h.send_header("Content-Length", str(length))
        elif framing == "chunked":
            h.send_header("Transfer-Encoding", "chunked")
        else:
            h.send_header("Connection", "close")
            h.close_connection = True
        try:
            h.end_headers()
        except OSError:
            self.gone()
        self.started = True

    def _send(self, data):
        self.check()
        try:
            self.h.wfile.write(data)
            self.h.wfile.flush()
        except OSError:
            self.gone()
        self.bytes += len(data)

    def write(self, data, byte_by_byte=False, byte_delay=0.0):
        """Body bytes (framed as chunks when chunked), flushed at once.  byte_by_byte
        writes and flushes each byte on its own (one chunk per byte when chunked)."""
        if not data:
            return
        pieces = [data[i:i + 1] for i in range(len(data))] if byte_by_byte else [data]
        for piece in pieces:
            if self.framing == "chunked":
                piece = b"%x\r\n%s\r\n" % (len(piece), piece)
            self._send(piece)
            if byte_by_byte and byte_delay > 0:
                self.wait(byte_delay)

    def end(self):
        """Ends the body properly (the last chunk when chunked; close when "close")."""
        if self.framing == "chunked":
            self._send(b"0\r\n\r\n")
        elif self.framing == "close":
            self.hard_close()

    def hard_close(self):
        """Closes the connection now, whatever the framing said (a cut)."""
        self.h.close_connection = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
