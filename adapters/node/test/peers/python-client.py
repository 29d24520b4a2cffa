#!/usr/bin/python3
"""A Python `websockets` client (Debian's python3-websockets) against a sansws server.

Usage: python-client.py URL deflate|none

Sends text and binary messages of every size class, expects each back unchanged (an echo server), pings,
closes with 1000, and prints one JSON object: the peer's version, the negotiated extensions, and what it
saw. Exits 1 when anything was not as expected.
"""
import asyncio
import json
import sys

import websockets

SIZES = [0, 1, 125, 126, 127, 65535, 65536, 1 << 20]


def pattern(size):
    return bytes((i * 7 + size) & 0xFF for i in range(size))


async def main():
    url, mode = sys.argv[1], sys.argv[2]
    report = {"peer": "python-websockets", "version": websockets.__version__, "python": sys.version.split()[0]}
    compression = "deflate" if mode == "deflate" else None
    async with websockets.connect(url, compression=compression, max_size=None, open_timeout=10) as ws:
        report["extensions"] = ws.response_headers.get("Sec-WebSocket-Extensions")
        mismatches = []
        for size in SIZES:
            text = "\u00e9" * (size // 2)
            await ws.send(text)
            if await ws.recv() != text:
                mismatches.append(f"text {size}")
            data = pattern(size)
            await ws.send(data)
            echoed = await ws.recv()
            if not isinstance(echoed, bytes) or echoed != data:
                mismatches.append(f"binary {size}")
        report["messages"] = 2 * len(SIZES)
        report["mismatches"] = mismatches
        pong = await ws.ping(b"python")
        await asyncio.wait_for(pong, 5)
        report["pong"] = True
        await ws.close(1000, "python says bye")
        report["close"] = {"code": ws.close_code, "reason": ws.close_reason}
    print(json.dumps(report), flush=True)
    return 0 if not mismatches and report["close"]["code"] == 1000 else 1


sys.exit(asyncio.run(main()))
