#!/usr/bin/env python3
"""A remote control for Ling Stage from the command line, built on python-osc (PyPI); the
tests use it as an independent OSC peer.

  remote_client.py HOST PORT [--bind ADDR] [--listen SECONDS] [MESSAGE ...]

Each MESSAGE is one argument: an address and its arguments separated by spaces, e.g.
"/ling/seek 5.0", "/ling/cue 12", "/ling/shot closeup 0.5", "/ling/go". Arguments that look
like ints are sent as ints, those that look like numbers as floats, `T`/`F` as bools, the
rest as strings. The messages go from one socket (bound to ADDR, default 127.0.0.1 on any
port), which then listens SECONDS for the state the show sends back and prints each message
received as a JSON line: {"t": seconds since sending, "addr": ..., "args": [...]}.

  PYTHONPATH=~/.cache/ling-stage/python scripts/remote_client.py 127.0.0.1 9000 /ling/go
"""
import argparse
import json
import socket
import sys
import time

from pythonosc import osc_message_builder
from pythonosc.osc_packet import OscPacket


def typed(text):
    if text in ("T", "F"):
        return text == "T"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def build(message):
    parts = message.split()
    if not parts:
        sys.exit("empty message")
    builder = osc_message_builder.OscMessageBuilder(address=parts[0])
    for arg in parts[1:]:
        value = typed(arg)
        if isinstance(value, bool):
            builder.add_arg(value, arg_type="T" if value else "F")
        else:
            builder.add_arg(value)
    return builder.build().dgram


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("messages", nargs="*")
    parser.add_argument("--bind", default="127.0.0.1", help="local address to send from")
    parser.add_argument("--listen", type=float, default=0.0, help="seconds to print the state")
    args = parser.parse_intermixed_args()

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((args.bind, 0))
    start = time.monotonic()
    for message in args.messages:
        sock.sendto(build(message), (args.host, args.port))
    deadline = start + args.listen
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            data, _ = sock.recvfrom(65536)
        except socket.timeout:
            break
        try:
            packet = OscPacket(data)
        except Exception as e:  # not OSC: say so, keep listening
            print(json.dumps({"error": str(e)}), flush=True)
            continue
        for timed in packet.messages:
            m = timed.message
            print(
                json.dumps(
                    {
                        "t": round(time.monotonic() - start, 3),
                        "addr": m.address,
                        "args": list(m.params),
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
