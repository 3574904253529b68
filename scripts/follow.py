#!/usr/bin/env python3
"""follow.py LOG PID: print the 'XM2P:' progress lines of a growing console
log, whole lines only, until process PID exits."""
import os
import sys
import time

path, pid = sys.argv[1], int(sys.argv[2])
pos, buf = 0, b""


def alive():
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


while True:
    running = alive()
    try:
        with open(path, "rb") as f:
            f.seek(pos)
            data = f.read()
            pos += len(data)
    except FileNotFoundError:
        data = b""
    buf += data
    *lines, buf = buf.split(b"\n")
    for line in lines:
        i = line.find(b"XM2P: ")
        if i >= 0:
            print("    " + line[i + 6:].decode(errors="replace").rstrip("\r"), flush=True)
    if not running:
        break
    time.sleep(1)
