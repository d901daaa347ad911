#!/usr/bin/env python3
"""Mixed-load stress of the connection machinery.

Several clients at once send walks that leave the worker (KEYS, HGETALL and SMEMBERS of 1,500
elements), pipelines that mix them with writes, MULTI/EXEC, and runs of grouped INCRs. Exits 1
on a reply that does not come within 10 s (a hang), on a wrong reply, or when the counter does
not equal the INCRs sent.

    python3 scripts/stress-mix.py PORT [SECONDS=15] [CLIENTS=8]

Run it against a server started by hand, e.g. with `--io-threads 1` or `2`, `--appendfsync always`.
"""
import random
import socket
import sys
import threading
import time

PORT = int(sys.argv[1])
SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 else 15
CLIENTS = int(sys.argv[3]) if len(sys.argv) > 3 else 8
BIG = 1500  # elements of the big hash and set: over the 1,000 that send a read off the worker


def encode(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class Client:
    def __init__(self):
        self.sock = socket.create_connection(("127.0.0.1", PORT))
        self.sock.settimeout(10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def _fill(self, n):
        while len(self.buf) < n:
            data = self.sock.recv(1 << 16)
            if not data:
                raise EOFError("connection closed")
            self.buf += data

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill(len(self.buf) + 1)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            self._fill(n + 2)
            value, self.buf = self.buf[:n], self.buf[n + 2:]
            return value
        if kind == b"*":
            return [self.reply() for _ in range(max(int(rest), 0))]
        if kind == b":":
            return int(rest)
        return line

    def send(self, *commands):
        self.sock.sendall(b"".join(commands))

    def cmd(self, *args):
        self.send(encode(*args))
        return self.reply()


def load():
    c = Client()
    c.cmd("DEL", "big", "bigs", "cnt")
    for start in range(0, BIG, 500):
        fields = [x for j in range(start, start + 500) for x in (f"f{j}", "v")]
        c.cmd("HSET", "big", *fields)
        c.cmd("SADD", "bigs", *[f"m{j}" for j in range(start, start + 500)])
    return c


def client(k, incrs, failures):
    """One client's random mix until the time is up; counts the INCRs it sent."""
    rng = random.Random(k)
    try:
        c = Client()
        end = time.time() + SECONDS
        while time.time() < end:
            case = rng.randrange(8)
            if case == 0:
                # The next request right after a walk off the worker, one round trip each.
                c.cmd("KEYS", "*")
                assert c.cmd("SET", f"k{k}", "v") == b"+OK"
            elif case == 1:
                assert c.cmd("INCR", "cnt") > 0
                incrs[k] += 1
            elif case == 2:
                c.send(encode("KEYS", "*"), encode("SET", f"k{k}", "v"), encode("INCR", "cnt"))
                c.reply()
                assert c.reply() == b"+OK"
                c.reply()
                incrs[k] += 1
            elif case == 3:
                c.send(encode("MULTI"), encode("KEYS", "*"), encode("INCR", "cnt"), encode("EXEC"))
                assert [c.reply() for _ in range(3)][1:] == [b"+QUEUED", b"+QUEUED"]
                assert len(c.reply()) == 2
                incrs[k] += 1
            elif case == 4:
                assert len(c.cmd("HGETALL", "big")) == 2 * BIG
            elif case == 5:
                assert len(c.cmd("SMEMBERS", "bigs")) == BIG
            elif case == 6:
                c.send(*[encode("INCR", "cnt")] * 16, encode("HKEYS", "big"), encode("SET", "z", "1"))
                for _ in range(18):
                    c.reply()
                incrs[k] += 16
            else:
                assert c.cmd("SET", f"k{k}", "v") == b"+OK"
    except socket.timeout:
        failures.append(f"client {k}: no reply within 10 s")
    except Exception as e:  # noqa: BLE001 - any failure of a client is reported
        failures.append(f"client {k}: {e!r}")


def main():
    checker = load()
    incrs, failures = [0] * CLIENTS, []
    threads = [threading.Thread(target=client, args=(k, incrs, failures)) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counter = int(checker.cmd("GET", "cnt") or 0)
    print(f"INCRs sent {sum(incrs)}, counter {counter}, failures {failures[:3]}")
    sys.exit(0 if counter == sum(incrs) and not failures else 1)


main()
