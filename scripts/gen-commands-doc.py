#!/usr/bin/env python3
"""Regenerates the command table of docs/commands.md from a running server's COMMAND INFO and
COMMAND DOCS, which come from the command table itself. Usage: gen-commands-doc.py PORT"""
import socket
import sys


def query(sock, *args):
    req = b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in (x.encode() for x in args))
    sock.sendall(req)
    f = sock.makefile("rb")
    return parse(f)


def parse(f):
    line = f.readline().rstrip(b"\r\n")
    t, rest = line[:1], line[1:]
    if t == b"*":
        return [parse(f) for _ in range(int(rest))] if int(rest) >= 0 else None
    if t == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data.decode()
    if t == b":":
        return int(rest)
    return rest.decode()


def main():
    port = int(sys.argv[1])
    sock = socket.create_connection(("127.0.0.1", port))
    info = query(sock, "COMMAND", "INFO")
    docs = query(sock, "COMMAND", "DOCS")
    doc = {docs[i]: dict(zip(docs[i + 1][::2], docs[i + 1][1::2])) for i in range(0, len(docs), 2)}
    rows = []
    for c in sorted(info, key=lambda c: c[0]):
        name, arity, flags = c[0], c[1], c[2]
        d = doc.get(name, {})
        subs = ", ".join(s[0].split("|")[1].upper() for s in c[9])
        summary = d.get("summary", "")
        if subs:
            summary += f" Subcommands: {subs}."
        rows.append(f"| `{name.upper()}` | {d.get('group', '')} | {arity} | {' '.join(flags)} | {summary} |")
    begin, end = "<!-- BEGIN COMMAND TABLE -->", "<!-- END COMMAND TABLE -->"
    path = "docs/commands.md"
    text = open(path).read()
    head, rest = text.split(begin)
    _, tail = rest.split(end)
    table = "\n| command | group | arity | flags | summary |\n|---|---|---|---|---|\n" + "\n".join(rows) + "\n"
    open(path, "w").write(head + begin + table + end + tail)


if __name__ == "__main__":
    main()
