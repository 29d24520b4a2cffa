#!/usr/bin/python3
"""A Python `websockets` echo server (Debian's python3-websockets) for sansws's client.

Usage: python-server.py deflate|none

Listens on 127.0.0.1, an ephemeral port, and prints one JSON line: the URL, the peer's version. Echoes
every message; the text "close 4001" makes it close with code 4001 instead. Speaks subprotocol "chat"
when offered. Runs until killed.
"""
import asyncio
import json
import sys

import websockets


async def echo(ws, path=None):
    try:
        async for message in ws:
            if message == "close 4001":
                await ws.close(4001, "as you asked")
                return
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass


async def main():
    compression = "deflate" if sys.argv[1] == "deflate" else None
    async with websockets.serve(
        echo, "127.0.0.1", 0, compression=compression, max_size=None, subprotocols=["chat"]
    ) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(json.dumps({
            "url": f"ws://127.0.0.1:{port}/",
            "peer": "python-websockets",
            "version": websockets.__version__,
            "python": sys.version.split()[0],
        }), flush=True)
        await asyncio.Future()


asyncio.run(main())
