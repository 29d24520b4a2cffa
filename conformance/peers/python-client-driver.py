#!/usr/bin/python3
"""Drives a fuzzing server (`sansws-conformance client`) with Python `websockets` (permessage-deflate offered,
its default): reads the case count, echoes every message of each case until the server closes, then asks for
the reports.

Usage: /usr/bin/python3 python-client-driver.py ws://127.0.0.1:9001 [agent]
"""
import asyncio
import sys
import urllib.parse

import websockets

BASE = sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:9001"
AGENT = sys.argv[2] if len(sys.argv) > 2 else "python-websockets"


async def main():
    async with websockets.connect(BASE + "/getCaseCount") as ws:
        count = int(await ws.recv())
    agent = urllib.parse.quote(AGENT)
    for i in range(1, count + 1):
        try:
            async with websockets.connect(
                f"{BASE}/runCase?case={i}&agent={agent}", max_size=None, max_queue=None
            ) as ws:
                async for message in ws:
                    await ws.send(message)
        except websockets.ConnectionClosed:
            pass
        except Exception as error:  # a failed handshake or a protocol error: the report shows it
            print(f"case {i}: {error!r}", file=sys.stderr)
    async with websockets.connect(f"{BASE}/updateReports?agent={agent}") as ws:
        try:
            await ws.recv()
        except websockets.ConnectionClosed:
            pass
    print(f"ran {count} cases")


asyncio.run(main())
