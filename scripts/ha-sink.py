#!/usr/bin/env python3
"""A slave that only receives: speaks the classic HA protocol to a master, reports FROM as its
commit log offset, then reads the transfer frames (8-byte offset, 4-byte body size, body, all big
endian), checks that they run contiguously and drops the bodies until END, reporting its offset
every 100 ms as a slave does. Prints the rate. Used by bench-ha-catchup.sh (SINK=1) to measure
how fast the master streams its commit log, without a slave's writes and dispatch.

    ha-sink.py HOST HA_PORT FROM END
"""
import socket
import struct
import sys
import time


def main():
    host, port, start, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    sock = socket.create_connection((host, port))
    sock.sendall(struct.pack(">q", start))
    buf = bytearray(8 << 20)
    view = memoryview(buf)
    have = pos = 0  # buf[pos:have] is received and not parsed yet
    offset = start
    t0 = last_report = time.time()

    def receive(at):
        n = sock.recv_into(view[at:])
        if n == 0:
            sys.exit(f"ha-sink: the master closed the connection at offset {offset}")
        return at + n

    while offset < end:
        if have - pos < 12:
            # keep the partial header, move it to the front, read more behind it
            buf[: have - pos] = buf[pos:have]
            have, pos = receive(have - pos), 0
            continue
        frame_offset, size = struct.unpack_from(">qi", buf, pos)
        if frame_offset != offset:
            sys.exit(f"ha-sink: frame at {frame_offset}, expected {offset}")
        pos += 12
        while size > 0:
            if pos == have:
                have, pos = receive(0), 0
            take = min(size, have - pos)
            pos += take
            size -= take
            offset += take
        now = time.time()
        if now - last_report > 0.1:
            sock.sendall(struct.pack(">q", offset))
            last_report = now
    seconds = time.time() - t0
    print(f"ha-sink: {end - start} bytes in {seconds:.2f} s: {(end - start) / seconds / 1e6:.0f} MB/s")


if __name__ == "__main__":
    main()
