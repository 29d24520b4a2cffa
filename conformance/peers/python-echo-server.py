#!/usr/bin/python3
"""Python `websockets` (Debian python3-websockets) echo server, permessage-deflate on (its default).

Usage: /usr/bin/python3 conformance/peers/python-echo-server.py [port]   (prints the URL)
"""
import asyncio
import sys

import websockets


async def echo(ws, path=None):
    try:
        async for message in ws:
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass


async def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    async with websockets.serve(echo, "127.0.0.1", port, max_size=None, max_queue=None) as server:
        sock = next(iter(server.sockets))
        print(f"ws://127.0.0.1:{sock.getsockname()[1]}/", flush=True)
        await asyncio.Future()


asyncio.run(main())
