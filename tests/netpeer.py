#!/usr/bin/env python3
"""dom0's end of the network-guest scenario.

Listens on ADDR for one guest:
  TCP PORT     receives a stream until EOF (the guest's transmit: netback
               maps these grants), records its length and SHA-256;
  TCP PORT+1   sends SIZE random bytes (netback's receive side: grant
               copy), records their SHA-256;
  UDP PORT+2   counts datagrams and bytes, and records every length seen.
Writes "key value" lines to OUT once both TCP transfers ended and the file
OUT.stop exists (the scenario creates it when the guest is gone), or LIMIT
seconds passed. Everything stays on the bridge inside the test VM.
"""
import hashlib
import os
import select
import socket
import sys
import time


def main():
    addr, port, size, out, limit = (sys.argv[1], int(sys.argv[2]),
                                    int(sys.argv[3]), sys.argv[4],
                                    float(sys.argv[5]))
    rx_l = socket.create_server((addr, port))
    tx_l = socket.create_server((addr, port + 1))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((addr, port + 2))
    res = {"udp_datagrams": 0, "udp_bytes": 0}
    udp_lens = set()
    rx_h, rx_n, rx_c = hashlib.sha256(), 0, None
    tx_done = rx_done = False
    socks = [rx_l, tx_l, udp]
    end = time.monotonic() + limit
    with open(out + ".ready", "w") as f:
        f.write("listening\n")
    stop = out + ".stop"
    while not (tx_done and rx_done and os.path.exists(stop)) \
            and time.monotonic() < end:
        r, _, _ = select.select(socks, [], [], 1.0)
        for s in r:
            if s is rx_l:
                rx_c, peer = rx_l.accept()
                socks.append(rx_c)
            elif s is tx_l:
                c, _ = tx_l.accept()
                h, left = hashlib.sha256(), size
                while left:
                    b = os.urandom(min(left, 1 << 16))
                    h.update(b)
                    c.sendall(b)
                    left -= len(b)
                c.shutdown(socket.SHUT_WR)
                c.close()
                res["tx_bytes"], res["tx_sha256"] = size, h.hexdigest()
                tx_done = True
            elif s is udp:
                d = udp.recv(1 << 16)
                res["udp_datagrams"] += 1
                res["udp_bytes"] += len(d)
                udp_lens.add(len(d))
            elif s is rx_c:
                b = rx_c.recv(1 << 16)
                if b:
                    rx_h.update(b)
                    rx_n += len(b)
                else:
                    socks.remove(rx_c)
                    rx_c.close()
                    res["rx_bytes"], res["rx_sha256"] = rx_n, rx_h.hexdigest()
                    rx_done = True
    # Datagrams still queued.
    udp.setblocking(False)
    try:
        while True:
            d = udp.recv(1 << 16)
            res["udp_datagrams"] += 1
            res["udp_bytes"] += len(d)
            udp_lens.add(len(d))
    except BlockingIOError:
        pass
    res["udp_lengths"] = ",".join(str(n) for n in sorted(udp_lens)) or "-"
    res["complete"] = "yes" if tx_done and rx_done else "no"
    with open(out, "w") as f:
        for k, v in res.items():
            f.write(f"{k} {v}\n")


if __name__ == "__main__":
    main()
