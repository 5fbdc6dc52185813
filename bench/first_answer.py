#!/usr/bin/env python3
"""Polls https://127.0.0.1:PORT/healthz every millisecond until it answers 200 over verified TLS,
then prints the time (nanoseconds since the epoch). Started before the server, so its own
start-up is not part of the measured time to first answer.

    python3 bench/first_answer.py PORT CA_FILE
"""

import socket
import ssl
import sys
import time

port, cafile = int(sys.argv[1]), sys.argv[2]
context = ssl.create_default_context(cafile=cafile)
request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
deadline = time.time() + 60
while time.time() < deadline:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as raw:
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                tls.sendall(request)
                if tls.recv(64).startswith(b"HTTP/1.1 200"):
                    print(time.time_ns())
                    sys.exit(0)
    except OSError:
        time.sleep(0.001)
sys.exit(1)
