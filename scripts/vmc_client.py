#!/usr/bin/env python3
"""An independent VMC peer for Ling Stage's tests, built on python-osc (PyPI).

  send FILE.bvh HOST PORT [--fps F] [--frames N]
      Streams a humanoid BVH (VRM bone names, ZXY rotation channels, centimetres — what
      `ling-stage mocap export` writes) as VMC: one OSC bundle per frame with /VMC/Ext/Root/Pos,
      /VMC/Ext/Bone/Pos for every bone (Unity HumanBodyBones names, Unity's left-handed axes),
      /VMC/Ext/Blend/Val + /VMC/Ext/Blend/Apply, /VMC/Ext/OK and /VMC/Ext/T (the frame's time).

  listen PORT COUNT [--timeout S]
      Receives COUNT VMC bundles and prints a JSON summary of what arrived.

The maths here is written independently of the Rust code on purpose.
"""
import json
import math
import socket
import sys
import time

from pythonosc import osc_bundle_builder, osc_message_builder, udp_client
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import BlockingOSCUDPServer


def unity_name(vrm):
    name = vrm[0].upper() + vrm[1:]
    if "ThumbMetacarpal" in name:
        return name.replace("ThumbMetacarpal", "ThumbProximal")
    if "ThumbProximal" in name:
        return name.replace("ThumbProximal", "ThumbIntermediate")
    return name


def axis_quat(axis, degrees):
    h = math.radians(degrees) / 2
    s = math.sin(h)
    return {"X": (s, 0, 0, math.cos(h)), "Y": (0, s, 0, math.cos(h)), "Z": (0, 0, s, math.cos(h))}[axis]


def qmul(a, b):
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return (
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
        aw * bw - ax * bx - ay * by - az * bz,
    )


def read_bvh(path):
    tokens = open(path).read().split()
    joints, i = [], 0
    while tokens[i] != "MOTION":
        if tokens[i] in ("ROOT", "JOINT"):
            name = tokens[i + 1]
            j = tokens.index("CHANNELS", i)
            n = int(tokens[j + 1])
            joints.append((name, tokens[j + 2 : j + 2 + n]))
            i = j + 2 + n
        else:
            i += 1
    frames = int(tokens[i + 2])
    frame_time = float(tokens[i + 5])
    values = [float(v) for v in tokens[i + 6 :]]
    width = sum(len(c) for _, c in joints)
    return joints, frame_time, [values[f * width : (f + 1) * width] for f in range(frames)]


def to_unity_position(p):
    return (-p[0], p[1], p[2])


def to_unity_rotation(q):
    return (q[0], -q[1], -q[2], q[3])


def send(path, host, port, fps, count):
    joints, frame_time, frames = read_bvh(path)
    client = udp_client.UDPClient(host, port)
    step = max(1, round((1.0 / fps) / frame_time)) if fps else 1
    sent = 0
    start = time.perf_counter()
    for f in range(0, len(frames), step):
        if count and sent >= count:
            break
        row, k = frames[f], 0
        bundle = osc_bundle_builder.OscBundleBuilder(osc_bundle_builder.IMMEDIATELY)

        def msg(addr, args):
            m = osc_message_builder.OscMessageBuilder(address=addr)
            for a in args:
                m.add_arg(a)
            bundle.add_content(m.build())

        msg("/VMC/Ext/Root/Pos", ["root", 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0])
        for name, channels in joints:
            pos, q = [0.0, 0.0, 0.0], (0.0, 0.0, 0.0, 1.0)
            for c in channels:
                v = row[k]
                k += 1
                if c.endswith("position"):
                    pos["XYZ".index(c[0])] = v / 100.0
                else:
                    q = qmul(q, axis_quat(c[0], v))
            if name == "hips":
                # Send the hips relative to the stage centre the export placed them at.
                pos[2] -= 0.35
            p = to_unity_position(pos)
            u = to_unity_rotation(q)
            msg("/VMC/Ext/Bone/Pos", [unity_name(name), p[0], p[1], p[2], u[0], u[1], u[2], u[3]])
        msg("/VMC/Ext/Blend/Val", ["A", 0.5])
        msg("/VMC/Ext/Blend/Val", ["Blink_L", 1.0])
        msg("/VMC/Ext/Blend/Apply", [])
        msg("/VMC/Ext/OK", [1])
        msg("/VMC/Ext/T", [f * frame_time])
        client.send(bundle.build())
        sent += 1
        if fps:
            target = start + sent / fps
            delay = target - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
    print(json.dumps({"sent": sent, "seconds": time.perf_counter() - start}))


def listen(port, count, timeout):
    bones, blends, frames = {}, {}, [0]
    dispatcher = Dispatcher()
    dispatcher.map("/VMC/Ext/Bone/Pos", lambda addr, name, *v: bones.__setitem__(name, v))
    dispatcher.map("/VMC/Ext/Blend/Val", lambda addr, name, v: blends.__setitem__(name, v))
    dispatcher.map("/VMC/Ext/T", lambda addr, *v: frames.__setitem__(0, frames[0] + 1))
    server = BlockingOSCUDPServer(("127.0.0.1", port), dispatcher)
    server.timeout = 0.2
    print(json.dumps({"ready": server.server_address[1]}), flush=True)
    deadline = time.time() + timeout
    while frames[0] < count and time.time() < deadline:
        server.handle_request()
    print(json.dumps({"frames": frames[0], "bones": bones, "blends": blends}), flush=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    opt = lambda name, default: float(args[args.index(name) + 1]) if name in args else default
    if args[0] == "send":
        send(args[1], args[2], int(args[3]), opt("--fps", 60.0), int(opt("--frames", 0)))
    elif args[0] == "listen":
        listen(int(args[1]), int(args[2]), opt("--timeout", 10.0))
    else:
        sys.exit(__doc__)
