#!/usr/bin/env python3
"""A userspace link emulator for tests on kernels without netem: one-way delay and random loss at the
packet level, so TCP on both ends sees the round-trip time and the losses (a TCP proxy would hide them).

It opens two TUN devices in the calling namespace and forwards every IP packet read from one to the
other after `--delay-ms`, dropping each with probability `--loss`. The test moves each device into its
own network namespace (the open descriptor stays attached). Prints "ready" once both devices exist;
"rate <bytes/s>" on stdin changes the bandwidth; exits on SIGTERM/SIGINT or when stdin closes, and the devices vanish with their descriptors.
Standard library only.
"""
import argparse
import fcntl
import heapq
import os
import random
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def open_tun(name):
    fd = os.open('/dev/net/tun', os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack('16sH', name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--dev-a', required=True)
    p.add_argument('--dev-b', required=True)
    p.add_argument('--delay-ms', type=float, default=150)
    p.add_argument('--loss', type=float, default=0.05)
    # packets waiting per direction; beyond it, tail drop (a router's queue is bounded too)
    p.add_argument('--queue', type=int, default=2000)
    p.add_argument('--seed', type=int, default=None)
    # bandwidth per direction in bytes/s (0: unlimited); packets are serialised one after the other
    p.add_argument('--rate', type=float, default=0)
    args = p.parse_args()
    rng = random.Random(args.seed)
    delay = args.delay_ms / 1000.0

    a = open_tun(args.dev_a)
    b = open_tun(args.dev_b)
    peer = {a: b, b: a}
    queued = {a: 0, b: 0}  # packets waiting to be written to each device
    free_at = {a: 0.0, b: 0.0}  # when each direction's wire is free again (with --rate)
    heap = []
    seq = 0
    stats = {'forwarded': 0, 'lost': 0, 'overflow': 0, 'bytes': 0, 'maxlen': 0}

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    print('ready', flush=True)

    stdin = sys.stdin.fileno()
    watch = [a, b, stdin]
    while not stop:
        timeout = max(0.0, heap[0][0] - time.monotonic()) if heap else 1.0
        try:
            ready, _, _ = select.select(watch, [], [], timeout)
        except InterruptedError:
            continue
        now = time.monotonic()
        for fd in ready:
            if fd == stdin:
                # commands, one a line: "rate <bytes/s>" changes the bandwidth; end of input stops
                data = os.read(stdin, 4096)
                if data == b'':
                    stop.append(1)
                for line in data.decode().splitlines():
                    words = line.split()
                    if len(words) == 2 and words[0] == 'rate':
                        args.rate = float(words[1])
                continue
            while True:
                try:
                    pkt = os.read(fd, 65536)
                except BlockingIOError:
                    break
                except OSError:
                    break
                if not pkt:
                    break
                out = peer[fd]
                if rng.random() < args.loss:
                    stats['lost'] += 1
                    continue
                if queued[out] >= args.queue:
                    stats['overflow'] += 1
                    continue
                seq += 1
                queued[out] += 1
                sent = now
                if args.rate > 0:
                    sent = max(now, free_at[out]) + len(pkt) / args.rate
                    free_at[out] = sent
                heapq.heappush(heap, (sent + delay, seq, out, pkt))
        now = time.monotonic()
        while heap and heap[0][0] <= now:
            _, _, out, pkt = heapq.heappop(heap)
            queued[out] -= 1
            try:
                os.write(out, pkt)
                stats['forwarded'] += 1
                stats['bytes'] += len(pkt)
                stats['maxlen'] = max(stats['maxlen'], len(pkt))
            except OSError:
                pass  # the device is down or being moved: the packet is lost, as on a real link
    print('stats %(forwarded)d forwarded (%(bytes)d bytes, largest %(maxlen)d), %(lost)d lost, %(overflow)d overflow' % stats, flush=True)


if __name__ == '__main__':
    main()
