#!/usr/bin/env python3
"""OCR load against a running Citadel: POST /v1/ocr with generated page images.

  ocr_load.py --port P --model M [--pages 256] [--concurrency 64] [--mode base] [--max-tokens 1000]

Every page is a different image (a white A4-shaped page with dark bars for
lines of text, laid out from the page's own seed), so no two requests share
vision tokens through the prefix cache. Prints pages/s, output tokens/s
(usage.completion_tokens) and latency percentiles; nothing passes or fails
on time. Standard library only (PNG written with zlib).
"""
import argparse
import base64
import http.client
import json
import random
import statistics
import struct
import sys
import threading
import time
import zlib


def png_gray(width, height, rows):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + row for row in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def page(seed, width=1024, height=1448):
    rng = random.Random(seed)
    white = bytes([255]) * width
    rows = [white] * height
    y = 80
    while y < height - 80:
        line = bytearray(white)
        x = 80
        while x < width - 80:
            word = rng.randint(20, 90)
            line[x:min(x + word, width - 80)] = bytes([rng.randint(0, 60)]) * (min(x + word, width - 80) - x)
            x += word + rng.randint(10, 18)
        for dy in range(rng.randint(14, 20)):
            if y + dy < height:
                rows[y + dy] = bytes(line)
        y += rng.randint(30, 44)
    return png_gray(width, height, rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--pages", type=int, default=256)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--mode", default="base")
    parser.add_argument("--max-tokens", type=int, default=1000)
    parser.add_argument("--prompt", default="<image>\n<|grounding|>Convert the document to markdown.")
    args = parser.parse_args()

    bodies = [json.dumps({"model": args.model, "image": base64.b64encode(page(i)).decode(), "mode": args.mode,
                          "prompt": args.prompt, "max_tokens": args.max_tokens, "temperature": 0})
              for i in range(args.pages)]
    lock = threading.Lock()
    next_page = [0]
    results, failures = [], []

    def worker():
        connection = http.client.HTTPConnection("127.0.0.1", args.port, timeout=3600)
        while True:
            with lock:
                if next_page[0] >= len(bodies):
                    return
                index = next_page[0]
                next_page[0] += 1
            started = time.monotonic()
            try:
                connection.request("POST", "/v1/ocr", bodies[index], {"Content-Type": "application/json"})
                response = connection.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException) as error:
                with lock:
                    failures.append(f"page {index}: {error}")
                connection = http.client.HTTPConnection("127.0.0.1", args.port, timeout=3600)
                continue
            elapsed = time.monotonic() - started
            with lock:
                if response.status != 200:
                    failures.append(f"page {index}: HTTP {response.status} {payload[:200]!r}")
                else:
                    usage = json.loads(payload)["usage"]
                    results.append((elapsed, usage["prompt_tokens"], usage["completion_tokens"]))

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started

    done = len(results)
    output = sum(r[2] for r in results)
    prompt = sum(r[1] for r in results)
    latencies = sorted(r[0] for r in results)
    print(f"{done} of {args.pages} pages ({args.mode}, max_tokens {args.max_tokens}, {args.concurrency} at once) "
          f"in {wall:.2f} s: {done / wall:.2f} pages/s, {output / wall:.0f} output tokens/s, "
          f"{(prompt + output) / wall:.0f} total tokens/s")
    if done:
        print(f"  per page: {prompt / done:.0f} prompt tokens, {output / done:.0f} output tokens; latency p50 "
              f"{statistics.median(latencies):.2f} s, p99 {latencies[min(done - 1, int(0.99 * done))]:.2f} s")
    for failure in failures[:5]:
        print("  failed:", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
