#!/usr/bin/env python3
"""A stand-in iPhone for Ling Stage's tests: sends face capture the way the phone apps do,
built from their published formats with the Python standard library alone.

  ifacialmocap [OPTIONS]
      Plays iFacialMocap: listens on 127.0.0.1 (prints "phone PORT"), waits for the receiver's
      handshake "iFacialMocap_sahuasouryya9218sauhuiayeta91555dy3719", then streams text frames
      "eyeBlink_R-80|jawOpen-60|…|=head#rx,ry,rz,tx,ty,tz|rightEye#…|leftEye#…|" back to the
      handshake's sender (values 0-100, angles in degrees).

  vtubestudio [OPTIONS]
      Plays VTube Studio's iPhone app ("3rd Party PC Clients"): listens on 127.0.0.1 (prints
      "phone PORT"), waits for {"messageType":"iOSTrackingDataRequest","time":T,"sentBy":…,
      "ports":[…]}, checks it, then sends JSON frames ({"Timestamp":…,"FaceFound":true,
      "Rotation":{x,y,z},"Position":…,"EyeLeft":…,"EyeRight":…,"BlendShapes":[{"k":…,"v":…}]})
      to the requester's address on every listed port.

  livelinkface HOST PORT [OPTIONS]
      Plays Epic's Live Link Face: streams Unreal's LiveLink packets (big-endian: version 6,
      device id and subject name as u32 length + UTF-8, frame number i32, sub-frame f32, fps
      i32/i32, a count byte of 61, then 61 floats: ARKit 52, head yaw/pitch/roll, left and
      right eye yaw/pitch/roll, radians) to HOST:PORT.

  csv FILE [OPTIONS]
      Writes a Live Link Face CSV take (Timecode,BlendShapeCount,EyeBlinkLeft,…,TongueOut,
      HeadYaw,…,RightEyeRoll) of --frames rows at 60 fps.

OPTIONS: --frames N (120) --fps F (60) --garbage K (K malformed packets before the frames)
         --jaw W (0.6) --smile W (0.4) --blink W (0.8) --yaw DEG (20) --pitch DEG (10)
         --roll DEG (-5) --timeout S (10)

The face: jawOpen, mouthSmileLeft and eyeBlinkRight at the given weights, the head turned by
yaw (towards the performer's left), pitch (up) and roll. Each app's own axes: iFacialMocap
sends rx = -pitch, ry = -yaw, rz = roll; VTube Studio x = pitch, y = yaw, z = roll (Unity's
0-360 degrees); Live Link Face yaw, pitch, roll in radians.
"""
import json
import math
import socket
import struct
import sys
import time

ARKIT = (
    "eyeBlinkLeft eyeLookDownLeft eyeLookInLeft eyeLookOutLeft eyeLookUpLeft eyeSquintLeft "
    "eyeWideLeft eyeBlinkRight eyeLookDownRight eyeLookInRight eyeLookOutRight eyeLookUpRight "
    "eyeSquintRight eyeWideRight jawForward jawLeft jawRight jawOpen mouthClose mouthFunnel "
    "mouthPucker mouthLeft mouthRight mouthSmileLeft mouthSmileRight mouthFrownLeft "
    "mouthFrownRight mouthDimpleLeft mouthDimpleRight mouthStretchLeft mouthStretchRight "
    "mouthRollLower mouthRollUpper mouthShrugLower mouthShrugUpper mouthPressLeft "
    "mouthPressRight mouthLowerDownLeft mouthLowerDownRight mouthUpperUpLeft mouthUpperUpRight "
    "browDownLeft browDownRight browInnerUp browOuterUpLeft browOuterUpRight cheekPuff "
    "cheekSquintLeft cheekSquintRight noseSneerLeft noseSneerRight tongueOut"
).split()
assert len(ARKIT) == 52

HANDSHAKE = b"iFacialMocap_sahuasouryya9218sauhuiayeta91555dy3719"


def options(args):
    o = {"frames": 120, "fps": 60.0, "garbage": 0, "jaw": 0.6, "smile": 0.4, "blink": 0.8,
         "yaw": 20.0, "pitch": 10.0, "roll": -5.0, "timeout": 10.0}
    rest = []
    i = 0
    while i < len(args):
        if args[i].startswith("--"):
            key = args[i][2:]
            if key not in o:
                sys.exit(f"unknown option {args[i]}")
            o[key] = type(o[key])(args[i + 1])
            i += 2
        else:
            rest.append(args[i])
            i += 1
    return o, rest


def weights(o):
    w = {n: 0.0 for n in ARKIT}
    w["jawOpen"] = o["jaw"]
    w["mouthSmileLeft"] = o["smile"]
    w["eyeBlinkRight"] = o["blink"]
    return w


def ifm_name(name):
    if name.endswith("Left"):
        return name[:-4] + "_L"
    if name.endswith("Right"):
        return name[:-5] + "_R"
    return name


def ifacialmocap_frame(o):
    fields = [f"{ifm_name(n)}-{round(v * 100)}" for n, v in weights(o).items()]
    fields.append(f"=head#{-o['pitch']},{-o['yaw']},{o['roll']},0.01,-0.02,0.3")
    fields.append("rightEye#1.5,-2.0,0.0")
    fields.append("leftEye#1.5,-2.5,0.0")
    return ("|".join(fields) + "|").encode()


def vtubestudio_frame(o):
    vec = lambda x, y, z: {"x": x, "y": y, "z": z}
    return json.dumps({
        "Timestamp": int(time.time() * 1000),
        "Hotkey": -1,
        "FaceFound": True,
        "Rotation": vec(o["pitch"] % 360.0, o["yaw"] % 360.0, o["roll"] % 360.0),
        "Position": vec(0.1, -0.2, -30.0),
        "EyeLeft": vec(-2.0, 3.0, 0.0),
        "EyeRight": vec(-2.0, 2.5, 0.0),
        "BlendShapes": [{"k": n[0].upper() + n[1:], "v": v} for n, v in weights(o).items()],
    }).encode()


def livelink_frame(o, frame):
    out = bytearray([6])
    for s in (b"3A1F0C2E-5E7B-4D55-9C1A-test-phone", b"iPhoneFace"):
        out += struct.pack(">I", len(s)) + s
    out += struct.pack(">ifii", frame, 0.0, 60, 1)
    values = list(weights(o).values())
    values += [math.radians(o["yaw"]), math.radians(o["pitch"]), math.radians(o["roll"])]
    values += [math.radians(3.0), math.radians(-2.0), 0.0, math.radians(2.5), math.radians(-2.0), 0.0]
    out.append(len(values))
    out += struct.pack(">61f", *values)
    return bytes(out)


def stream(sock, targets, make, o):
    for _ in range(o["garbage"]):
        for t in targets:
            sock.sendto(b"\x00garbage, not a face|=head#x", t)
    period = 1.0 / o["fps"]
    start = time.perf_counter()
    for f in range(o["frames"]):
        packet = make(f)
        for t in targets:
            try:
                sock.sendto(packet, t)
            except ConnectionRefusedError:
                pass  # the receiver has gone (a phone does not care either)
        delay = start + (f + 1) * period - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    print(f"sent {o['frames']} frames to {len(targets)} address(es)", flush=True)


def phone(kind, o):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(o["timeout"])
    print(f"phone {sock.getsockname()[1]}", flush=True)
    while True:
        try:
            data, sender = sock.recvfrom(65536)
        except socket.timeout:
            sys.exit("no handshake or request arrived")
        if kind == "ifacialmocap":
            if data.split(b"|")[0] == HANDSHAKE:
                stream(sock, [sender], lambda f: ifacialmocap_frame(o), o)
                return
        else:
            try:
                request = json.loads(data)
            except ValueError:
                continue
            if request.get("messageType") != "iOSTrackingDataRequest":
                continue
            t, by, ports = request.get("time"), request.get("sentBy", ""), request.get("ports", [])
            if not (isinstance(t, (int, float)) and 0.5 <= t <= 10):
                sys.exit(f"bad request time {t!r}")
            if not (1 <= len(by) <= 32) or not (1 <= len(ports) <= 16):
                sys.exit(f"bad request {request!r}")
            stream(sock, [(sender[0], int(p)) for p in ports], lambda f: vtubestudio_frame(o), o)
            return


def write_csv(path, o):
    cols = ["Timecode", "BlendShapeCount"] + [n[0].upper() + n[1:] for n in ARKIT]
    cols += ["HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
             "RightEyeYaw", "RightEyePitch", "RightEyeRoll"]
    with open(path, "w") as f:
        f.write(",".join(cols) + "\n")
        for i in range(o["frames"]):
            second, frame = divmod(i, 60)
            tc = f"12:00:{second:02d}:{frame:02d}.000"
            w = weights(o)
            row = [tc, "61"] + [f"{w[n]:.6f}" for n in ARKIT]
            row += [f"{math.radians(o['yaw']):.6f}", f"{math.radians(o['pitch']):.6f}",
                    f"{math.radians(o['roll']):.6f}"] + ["0"] * 6
            f.write(",".join(row) + "\n")
    print(f"wrote {o['frames']} rows to {path}", flush=True)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    kind = sys.argv[1]
    o, rest = options(sys.argv[2:])
    if kind in ("ifacialmocap", "vtubestudio"):
        phone(kind, o)
    elif kind == "livelinkface" and len(rest) == 2:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        stream(sock, [(rest[0], int(rest[1]))], lambda f: livelink_frame(o, f), o)
    elif kind == "csv" and len(rest) == 1:
        write_csv(rest[0], o)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
