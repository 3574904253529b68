#!/usr/bin/env python3
"""Minimal QMP client: qmp.py SOCKET COMMAND [JSON-ARGS]. Prints the
"return" value as JSON; exits 1 with QMP's error message on failure."""
import json
import socket
import sys


def main():
    sock, cmd = sys.argv[1], sys.argv[2]
    args = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    f = s.makefile("rw")

    def recv():
        while True:
            msg = json.loads(f.readline())
            if "event" not in msg:
                return msg

    recv()  # greeting
    for c, a in (("qmp_capabilities", {}), (cmd, args)):
        f.write(json.dumps({"execute": c, "arguments": a}) + "\n")
        f.flush()
        r = recv()
        if "error" in r:
            print("QMP %s: %s" % (c, r["error"].get("desc")), file=sys.stderr)
            sys.exit(1)
    print(json.dumps(r.get("return")))


if __name__ == "__main__":
    main()
