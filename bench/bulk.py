#!/usr/bin/python3
"""bench/bulk.py: a bulk TCP transfer for bench/run.sh's private-network rows.

  bulk.py PORT MIB [--] SERVER...   start SERVER (which serves PORT), connect to
                                    127.0.0.1:PORT, read MIB MiB to the end
  bulk.py --serve PORT MIB          the server: MIB MiB to the first client, then exit once
                                    the client has closed

The client retries the connection until the server answers (up to 20 s): this is a
benchmark, not a test. Exit status 0 only when exactly MIB MiB arrived and the server
exited 0.
"""
import socket
import subprocess
import sys
import time

CHUNK = 1 << 20


def serve(port, mib):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(1)
    c, _ = s.accept()
    block = b"x" * CHUNK
    for _ in range(mib):
        c.sendall(block)
    # The end of the data, then wait for the client's close: the server (and its container,
    # and pasta with it) ends only once every byte has arrived, what pasta still held included.
    c.shutdown(socket.SHUT_WR)
    while c.recv(CHUNK):
        pass
    c.close()


def client(port, mib, server):
    p = subprocess.Popen(server)
    deadline = time.monotonic() + 20
    buf = bytearray(CHUNK)
    got = 0
    while not got:
        # A published port answers before the server inside listens (pasta accepts, then
        # closes): a connection that brings nothing is tried again.
        try:
            c = socket.create_connection(("127.0.0.1", port))
            while True:
                n = c.recv_into(buf)
                if not n:
                    break
                got += n
            c.close()
        except OSError:
            pass
        if not got and (time.monotonic() > deadline or p.poll() is not None):
            p.kill()
            p.wait()
            sys.exit("bulk.py: the server did not answer")
        if not got:
            time.sleep(0.005)
    rc = p.wait()
    if got != mib * CHUNK or rc != 0:
        sys.exit(f"bulk.py: {got} bytes of {mib * CHUNK}, server exit {rc}")


def main():
    if sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), int(sys.argv[3]))
        return
    args = sys.argv[3:]
    if args and args[0] == "--":
        args = args[1:]
    client(int(sys.argv[1]), int(sys.argv[2]), args)


if __name__ == "__main__":
    main()
