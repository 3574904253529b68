#!/usr/bin/env python3
"""dom0's end of make bench's network workloads (tests/bench-icount.sh).

bench-netpeer.py ADDRESS PORT: two TCP services, one connection at a time.
PORT: the client sends "N\\n" and N bytes; the peer reads them all and
answers "N\\n" with the count it read (nettx: the guest knows its stream
arrived). PORT+1: the client sends "N\\n"; the peer sends N zero bytes and
closes (netrx). One line per connection on stdout.
"""
import socket
import sys
import threading


def header(c):
    line = b""
    while not line.endswith(b"\n"):
        d = c.recv(1)
        if not d:
            raise EOFError("connection closed before the byte count")
        line += d
    return int(line)


def sink(c):
    n, got = header(c), 0
    while got < n:
        d = c.recv(min(1 << 20, n - got))
        if not d:
            break
        got += len(d)
    c.sendall(b"%d\n" % got)
    return "rx %d of %d" % (got, n)


def source(c):
    n = left = header(c)
    buf = bytes(1 << 16)
    while left:
        k = min(left, len(buf))
        c.sendall(buf[:k])
        left -= k
    return "tx %d" % n


def serve(addr, port, job):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(4)
    while True:
        c, _ = s.accept()
        try:
            print("port %d: %s" % (port, job(c)), flush=True)
        except (OSError, EOFError, ValueError) as e:
            print("port %d: %s" % (port, e), flush=True)
        finally:
            c.close()


def main():
    addr, port = sys.argv[1], int(sys.argv[2])
    threading.Thread(target=serve, args=(addr, port, sink), daemon=True).start()
    serve(addr, port + 1, source)


if __name__ == "__main__":
    main()
