#!/usr/bin/env python3
"""An echo server in Python's `websockets`, for tests/foreign/.

Echoes every message with its type (text as text, binary as binary) and
reports on stdout, one JSON object a line:

  {"event": "listening", "port": N}
  {"event": "open", "conn": N, "path": "/x?y", "offered": "a, b" | null, "selected": "" | "a"}
  {"event": "frame", "conn": N, "text": "..."}  or  {"event": "frame", "conn": N, "binary": "<hex>"}
  {"event": "close", "conn": N}

Run with websockets on PYTHONPATH (scripts/setup.sh installs it into
target/python):

  PYTHONPATH=target/python python3 tests/foreign/echo_server.py --port 8765

It listens on 127.0.0.1 only, and exits after --exit-after seconds or as
soon as its standard input closes (the test that started it is gone),
whichever comes first.
"""

import argparse
import asyncio
import itertools
import json
import os
import sys
import threading

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed


def report(**fields):
    print(json.dumps(fields), flush=True)


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--exit-after", type=float, default=240.0)
    args = parser.parse_args()

    loop = asyncio.get_running_loop()
    stdin_closed = asyncio.Event()

    def watch_stdin():
        sys.stdin.buffer.read()
        loop.call_soon_threadsafe(stdin_closed.set)

    threading.Thread(target=watch_stdin, daemon=True).start()
    numbers = itertools.count(1)

    async def echo(websocket):
        conn = next(numbers)
        report(
            event="open",
            conn=conn,
            path=websocket.request.path,
            offered=websocket.request.headers.get("Sec-WebSocket-Protocol"),
            selected=websocket.subprotocol or "",
        )
        try:
            async for message in websocket:
                if isinstance(message, str):
                    report(event="frame", conn=conn, text=message)
                else:
                    report(event="frame", conn=conn, binary=message.hex())
                await websocket.send(message)
        except ConnectionClosed:
            pass
        finally:
            report(event="close", conn=conn)

    async with serve(echo, "127.0.0.1", args.port):
        report(event="listening", port=args.port)
        try:
            await asyncio.wait_for(stdin_closed.wait(), timeout=args.exit_after)
        except asyncio.TimeoutError:
            pass


if __name__ == "__main__":
    asyncio.run(main())
    # The stdin thread may still be blocked in read().
    os._exit(0)
