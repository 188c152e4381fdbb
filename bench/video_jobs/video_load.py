#!/usr/bin/env python3
"""Text-to-video load against a running Citadel: video jobs of a vista model.

  video_load.py --port P --model M [--jobs 1] [--frames 81] [--size 832x480] [--seed 42]
                [--api videos|inference] [--host-log FILE] [--save DIR]

--api videos (default): OpenAI's video job API (docs/http-api.md, "Video
jobs"): POST /v1/videos for every job at once, GET /v1/videos/{id} every
20 ms until it is completed or failed, then GET /v1/videos/{id}/content
(the MP4, checked non-empty with an `ftyp` box). A host built without FFmpeg
(CITADEL_VIDEO_FILES=OFF, as the GPU build is) fails every job at its first
frame (`media_error`: VideoJobFiles cannot make the MP4 writer), so there
--api inference runs the same requests through POST /inference with
"stream": true, one thread a job: the frames come as server-sent events,
each checked to be W*H*3 bytes of RGB (or the plugin's latents), counted as
they arrive.

Prints per job: frames and seconds from submit to done, frames/s of the
whole job, seconds to the first frame out (first progress) and, with the
video job API, to the first chunk that the host counts as done (it closes a
chunk when the next one's first frame arrives). With --host-log (the
citadel log) also the plugin's own seconds per chunk (its "chunk c/n in S s"
lines: denoising steps, the committing pass and the VAE decode of the chunk,
not the prompt's UMT5 encoding, which runs in the same first step before
them): the first frame's time less the first chunk's is the prompt encoding
plus the request's way through HTTP and the scheduler (milliseconds), and
frames/s without it is printed too. Nothing passes or fails on time: exits 1
when a job fails or its content (MP4 or frames) is empty. Standard library
only.
"""
import argparse
import base64
import http.client
import json
import pathlib
import re
import sys
import threading
import time


def request(port, method, path, body=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    connection.request(method, path, json.dumps(body) if body is not None else None, headers)
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    return response.status, payload


class Job:
    def __init__(self, index):
        self.index = index
        self.submitted = self.first_frame = self.first_chunk = self.done = None
        self.frames = 0
        self.content_bytes = 0
        self.error = None


def run_video_jobs(args, width, height):
    jobs = []
    for i in range(args.jobs):
        job = Job(i)
        job.submitted = time.monotonic()
        status, payload = request(args.port, "POST", "/v1/videos",
                                  {"model": args.model, "prompt": args.prompt, "size": f"{width}x{height}",
                                   "frames": args.frames, "seed": args.seed + i})
        if status != 200:
            job.error = f"POST /v1/videos: HTTP {status} {payload[:300]!r}"
            job.done = time.monotonic()
        else:
            job.id = json.loads(payload)["id"]
        jobs.append(job)
    running = [job for job in jobs if job.error is None]
    while running:
        for job in list(running):
            status, payload = request(args.port, "GET", f"/v1/videos/{job.id}")
            now = time.monotonic()
            if status != 200:
                job.error, job.done = f"GET /v1/videos/{job.id}: HTTP {status} {payload[:300]!r}", now
                running.remove(job)
                continue
            view = json.loads(payload)
            if job.first_frame is None and view.get("frames_done", 0) > 0:
                job.first_frame = now
            if job.first_chunk is None and view.get("chunks_done", 0) > 0:
                job.first_chunk = now
            if view["status"] in ("completed", "failed"):
                job.done, job.frames = now, view.get("frames_done", 0)
                running.remove(job)
                if view["status"] == "failed":
                    error = view.get("error") or {}
                    job.error = f"failed: {error.get('code')}: {error.get('message')}"
                    if "CITADEL_VIDEO_FILES=OFF" in str(error.get("message")):
                        job.error += " (this host cannot write MP4s: run with --api inference)"
        time.sleep(0.02)
    for job in jobs:
        if job.error is not None:
            continue
        status, payload = request(args.port, "GET", f"/v1/videos/{job.id}/content")
        if status != 200:
            job.error = f"GET /v1/videos/{job.id}/content: HTTP {status} {payload[:300]!r}"
        elif len(payload) == 0 or b"ftyp" not in payload[:16]:
            job.error = f"content of {len(payload)} bytes is not an MP4"
        job.content_bytes = len(payload)
        if args.save and payload:
            (args.save / f"job{job.index}.mp4").write_bytes(payload)
    return jobs


def stream_inference(args, width, height, job):
    body = {"model": args.model, "stream": True,
            "input": {"prompt": args.prompt, "width": width, "height": height, "frames": args.frames,
                      "seed": args.seed + job.index}}
    connection = http.client.HTTPConnection("127.0.0.1", args.port, timeout=3600)
    job.submitted = time.monotonic()
    try:
        connection.request("POST", "/inference", json.dumps(body), {"Content-Type": "application/json"})
        response = connection.getresponse()
        if response.status != 200:
            job.error = f"POST /inference: HTTP {response.status} {response.read()[:300]!r}"
            return
        frames = [] if args.save else None
        for raw in response:
            line = raw.strip()
            if not line.startswith(b"data: "):
                continue
            data = line[len(b"data: "):]
            if data == b"[DONE]":
                break
            event = json.loads(data)
            if "error" in event:
                job.error = f"error event: {event['error']}"
                break
            item = event.get("data")
            if item:
                size = len(base64.b64decode(item["b64_json"]))
                kind = item.get("type", "")
                expected = width * height * 3 if kind.startswith("image/x-raw-rgb") else None
                if size == 0 or (expected is not None and size != expected):
                    job.error = f"item of type '{kind}' has {size} bytes (expected {expected})"
                    break
                if job.first_frame is None:
                    job.first_frame = time.monotonic()
                job.frames += 1
                job.content_bytes += size
                if frames is not None:
                    frames.append(base64.b64decode(item["b64_json"]))
            if event.get("final"):
                reason = event.get("finish_reason")
                if reason not in ("length", "stop"):
                    job.error = f"finished: {reason}"
        if frames:
            (args.save / f"job{job.index}.rgb").write_bytes(b"".join(frames))
    except (OSError, http.client.HTTPException, ValueError) as error:
        job.error = f"/inference stream: {error}"
    finally:
        job.done = time.monotonic()
        connection.close()


def run_inference(args, width, height):
    jobs = [Job(i) for i in range(args.jobs)]
    threads = [threading.Thread(target=stream_inference, args=(args, width, height, job)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return jobs


def chunk_lines(path, skip_bytes):
    """{request id: [seconds of chunk 1, 2, ...]} from the plugin's log lines after skip_bytes."""
    chunks = {}
    if path is None or not path.exists():
        return chunks
    with open(path, "rb") as f:
        f.seek(skip_bytes)
        text = f.read().decode(errors="replace")
    for request_id, _, _, seconds in re.findall(r"request (\d+): chunk (\d+)/(\d+) in ([0-9.]+) s", text):
        chunks.setdefault(request_id, []).append(float(seconds))
    return chunks


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--frames", type=int, default=81)
    parser.add_argument("--size", default="832x480", help="WIDTHxHEIGHT")
    parser.add_argument("--seed", type=int, default=42, help="job i uses seed + i")
    parser.add_argument("--prompt", default="A red fox runs through fresh snow at dawn, cinematic, slow motion")
    parser.add_argument("--api", choices=["videos", "inference"], default="videos")
    parser.add_argument("--host-log", type=pathlib.Path, help="the citadel log, for the plugin's chunk times")
    parser.add_argument("--save", type=pathlib.Path, help="folder for each job's MP4 (or raw RGB frames)")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
    log_start = args.host_log.stat().st_size if args.host_log and args.host_log.exists() else 0

    started = time.monotonic()
    jobs = (run_video_jobs if args.api == "videos" else run_inference)(args, width, height)
    wall = time.monotonic() - started
    time.sleep(0.2)  # the log line of the last chunk
    chunks = chunk_lines(args.host_log, log_start)
    # Requests in the order of their first chunk line, jobs in the order of their first frame.
    per_request = list(chunks.values())
    ordered = sorted((job for job in jobs if job.first_frame is not None), key=lambda job: job.first_frame)

    failed = 0
    what = "MP4" if args.api == "videos" else "RGB"
    print(f"{len(jobs)} job(s) of {args.frames} frames at {width}x{height} through "
          f"{'/v1/videos' if args.api == 'videos' else '/inference (stream)'} in {wall:.2f} s")
    for job in jobs:
        elapsed = job.done - job.submitted
        line = f"  job {job.index}: "
        if job.error is not None or job.frames == 0 or job.content_bytes == 0:
            failed += 1
            print(line + f"FAILED after {elapsed:.2f} s: {job.error or 'no content'}")
            continue
        line += (f"{job.frames} frames in {elapsed:.2f} s (submit to done), {job.frames / elapsed:.2f} frames/s; "
                 f"first frame {job.first_frame - job.submitted:.3f} s")
        if job.first_chunk is not None:
            line += f", first chunk counted {job.first_chunk - job.submitted:.3f} s"
        line += f"; {what} {job.content_bytes:,} bytes"
        print(line)
        rank = ordered.index(job)
        if rank < len(per_request):
            times = per_request[rank]
            prompt = job.first_frame - job.submitted - times[0]
            print(f"    plugin: {len(times)} chunks, {sum(times):.3f} s in chunks "
                  f"({', '.join(f'{t:.3f}' for t in times)}); {job.frames / sum(times):.2f} frames/s over chunk time")
            print(f"    first frame = chunk 1 {times[0]:.3f} s + {prompt:.3f} s prompt encoding (UMT5) and overhead; "
                  f"without that: {job.frames / max(elapsed - prompt, 1e-9):.2f} frames/s submit to done")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
