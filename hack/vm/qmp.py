#!/usr/bin/env python3
"""qmp.py SOCKET COMMAND: talk to a QEMU's QMP monitor (a unix socket).

  status              print the run state ("running", "paused", "inmigrate"...)
  migrate URI         migrate to URI and wait (at most 60 s) until it has
                      completed; print "total_ms=T downtime_ms=D"
  quit                stop that QEMU

QEMU 7.2 can report "completed" once with total-time and downtime 0 right
after a migration ends (qemu-notes.md): the figures are asked for again."""
import json
import socket
import sys
import time


class QMP:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(10)
        self.s.connect(path)
        self.f = self.s.makefile("rw")
        json.loads(self.f.readline())  # greeting
        self.call("qmp_capabilities")

    def call(self, cmd, **args):
        msg = {"execute": cmd}
        if args:
            msg["arguments"] = args
        self.f.write(json.dumps(msg) + "\n")
        self.f.flush()
        while True:
            line = self.f.readline()
            if not line:
                raise SystemExit(f"qmp: {cmd}: connection closed")
            r = json.loads(line)
            if "event" in r:
                continue
            if "error" in r:
                raise SystemExit(f"qmp: {cmd}: {r['error'].get('desc')}")
            return r.get("return")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    q = QMP(sys.argv[1])
    cmd = sys.argv[2]
    if cmd == "status":
        print(q.call("query-status")["status"])
    elif cmd == "migrate" and len(sys.argv) == 4:
        q.call("migrate", uri=sys.argv[3])
        end = time.monotonic() + 60
        while time.monotonic() < end:
            r = q.call("query-migrate")
            st = r.get("status")
            if st in ("failed", "cancelled"):
                sys.exit(f"qmp: migration {st}: {r.get('error-desc', '')}")
            if st == "completed" and r.get("total-time"):
                print(f"total_ms={r['total-time']} downtime_ms={r.get('downtime', 0)}")
                return
            time.sleep(0.02)
        sys.exit("qmp: migration not completed after 60 s")
    elif cmd == "quit":
        try:
            q.call("quit")
        except SystemExit:
            pass  # QEMU closes the socket as it quits
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
