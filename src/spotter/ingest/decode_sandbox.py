"""A decode budget no input can exceed: decode in a warm worker process, under a memory cap
(RLIMIT_AS) and a wall-time limit, and turn any breach into `RejectedImage`.

The worker (`python -m spotter.ingest.decode_sandbox`) is started once and reused across images: it is a fresh
interpreter (not a fork of a process that may run threads), holds only Pillow and numpy, and
talks over two pipes (Lambda has no /dev/shm, so no multiprocessing queues) that carry only
small headers: the image bytes and the decoded pixels pass through a shared memory file (memfd),
not through the pipe in 64 KB pieces with a context switch for each. The caller writes the bytes
there once and the worker maps them (decode_image reads them in place; a 25 MB PNG copied out
again cost 10-17 ms of fresh pages). Given the model's input contract (`fit`), the worker also fits
the picture to the model's input size, so that only the model's input (224x224x3 = 150 KB) comes
back rather than the decoded picture (1.3 MB for a 3072x2304 JPEG drafted to 768x576): copying
that back cost more than the fit itself (`make bench BENCH_ARGS="--only latency"` shows both side
by side). When an image overruns the time limit, the worker is killed and the next image gets a
new one; when it runs out of its memory cap, the allocation fails inside the worker
(`MemoryError`), the image is rejected and the worker is replaced. A decoder crash (a signal) is a
rejection too, and so is a reply that does not add up. Whatever an image does, the caller's
process keeps its own memory and gets an answer within the limit.
"""

from __future__ import annotations

import contextlib
import errno
import json
import mmap
import os
import resource
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from dataclasses import asdict, replace
from typing import IO, Any

from PIL import Image

from spotter.errors import DecoderLost, RejectedImage
from spotter.ingest.exif import FieldMetadata
from spotter.ingest.imaging import DecodedImage, DecodeLimits, decode_image
from spotter.model.preprocess import InputContract
from spotter.model.tiling import Region, TilePlan, Tiling, View, cut_views

_HEADER = struct.Struct(">Q")
MiB = 1024 * 1024


def _statuses(fd: int | None = None) -> dict[str, int]:
    """/proc/self/status's VmSize, VmRSS and VmHWM in bytes, from one read (0 where missing); `fd`:
    the file kept open (a read from offset 0 makes it afresh), else it is opened for this read."""
    if fd is None:
        with open("/proc/self/status", "rb") as status:
            text = status.read()
    else:
        text = os.pread(fd, 1 << 16, 0)
    found = dict.fromkeys(("VmSize", "VmRSS", "VmHWM"), 0)
    for line in text.splitlines():
        name, _, value = line.partition(b":")
        if name.decode() in found:
            found[name.decode()] = int(value.split()[0]) * 1024
    return found


def _status(field: str) -> int:
    """A /proc/self/status value in bytes (VmSize, VmRSS, VmHWM)."""
    return _statuses()[field]


def _reset_peak(fd: int | None = None) -> None:
    """Start VmHWM afresh, so each image's peak is its own (Linux >= 4.0; harmless where refused).
    `fd`: /proc/self/clear_refs kept open for writing."""
    try:
        if fd is not None:
            os.write(fd, b"5")
            return
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass


def _open_or_none(path: str, flags: int) -> int | None:
    try:
        return os.open(path, flags | os.O_CLOEXEC)
    except OSError:
        return None


def _read_exact(fd: int, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 22))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _pread_all(fd: int, size: int) -> bytes:
    chunks, got = [], 0
    while got < size:
        chunk = os.pread(fd, size - got, got)
        if not chunk:
            raise EOFError("the shared buffer is shorter than announced")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks) if len(chunks) != 1 else chunks[0]


def _mapped(fd: int, size: int) -> mmap.mmap | bytes:
    """The first `size` bytes of the shared file, mapped (read-only, its pages mapped at once) rather
    than copied: decode_image reads them where the caller wrote them. Counts against RLIMIT_AS as a
    copy would; MemoryError when that leaves no room."""
    if size == 0:
        return b""
    if os.fstat(fd).st_size < size:
        raise EOFError("the shared buffer is shorter than announced")
    try:
        return mmap.mmap(fd, size, flags=mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0), prot=mmap.PROT_READ)
    except OSError as error:
        if error.errno == errno.ENOMEM:
            raise MemoryError from error
        raise


def _unmapped(data: mmap.mmap | bytes) -> None:
    if isinstance(data, mmap.mmap):
        with contextlib.suppress(BufferError):  # still referenced somewhere: unmapped when that goes
            data.close()


def _pwrite_all(fd: int, data: bytes | memoryview) -> None:
    view, offset = memoryview(data), 0
    while offset < len(view):
        offset += os.pwrite(fd, view[offset:], offset)


def _shared_buffer() -> int:
    """A file in memory both processes can read and write (a memfd; a deleted temp file where
    memfd_create is missing)."""
    if hasattr(os, "memfd_create"):
        return os.memfd_create("spotter-decode", 0)  # inheritable: passed to the worker below
    import tempfile

    fd, path = tempfile.mkstemp(prefix="spotter-decode-")
    os.unlink(path)
    os.set_inheritable(fd, True)
    return fd


WARM_HEAP_BYTES = 64 * MiB  # freed memory the worker keeps between images (below `recycle_bytes`)
SHRINK_BUFFER_BYTES = 16 * MiB  # a bigger exchange is released afterwards, not kept for the next image


def _write_all(fd: int, *parts: bytes) -> None:
    for part in parts:
        view = memoryview(part)
        while view:
            view = view[os.write(fd, view) :]


# ---- the worker side ------------------------------------------------------------------------------


def worker_main() -> int:
    """Serve decode jobs on stdin/stdout until stdin closes (the parent went away)."""
    # A terminal's Ctrl-C reaches the whole process group: the parent stops this worker by closing its
    # stdin, so the interrupt here would only print a KeyboardInterrupt traceback on `spotter up`'s exit.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    rfd, wfd = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # stray prints from a plugin must not corrupt the protocol
    memory = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    shared = int(sys.argv[2])
    baseline = _status("VmSize")
    if memory:
        cap = baseline + memory
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    status = _open_or_none("/proc/self/status", os.O_RDONLY)
    clear_refs = _open_or_none("/proc/self/clear_refs", os.O_WRONLY)
    _write_all(wfd, _HEADER.pack(baseline))  # ready
    while True:
        # the next image's bookkeeping, done while waiting for it rather than once it has come: its
        # peak counts from here (its bytes, read below, are in memory while it decodes in any case)
        _reset_peak(clear_refs)
        start_rss = _statuses(status)["VmRSS"]
        try:
            header = _read_exact(rfd, _HEADER.size)
        except EOFError:
            return 0
        job = json.loads(_read_exact(rfd, _HEADER.unpack(header)[0]))
        reading = time.perf_counter()
        try:
            data = _mapped(shared, job["size"])
            read_ms = (time.perf_counter() - reading) * 1000.0
        except MemoryError:
            _write_all(
                wfd,
                _framed(
                    (
                        ("memory", None),
                        {
                            "seconds": 0.0,
                            "peak": _status("VmHWM"),
                            "rss": 0,
                            "size": 0,
                            "baseline": baseline,
                            "start_rss": 0,
                        },
                    )
                ),
            )
            return 0
        started = time.perf_counter()
        # ms: read (the bytes from the shared file), decode, fit, out (the pixels into the shared file)
        timings = {"read": read_ms}
        try:
            try:
                decoded = decode_image(data, tuple(job["target_size"]), DecodeLimits(**job["limits"]), job["use_draft"])
            finally:
                _unmapped(data)
            del data
            timings["decode"] = (time.perf_counter() - started) * 1000.0
            if job.get("fit") is not None and job.get("tiling") is not None:
                decoded = _tiled(decoded, _contract(job["fit"]), Tiling.from_json(job["tiling"]))
                timings["fit"] = decoded.fit_ms or 0.0
            elif job.get("fit") is not None:
                decoded = _fitted(decoded, _contract(job["fit"]))
                timings["fit"] = decoded.fit_ms or 0.0
            written = time.perf_counter()
            pixels = b"".join(v.image.tobytes() for v in decoded.views) if decoded.views else decoded.image.tobytes()
            _pwrite_all(shared, pixels)
            timings["out"] = (time.perf_counter() - written) * 1000.0
            # the pixels travel through the shared file; the header says how to read them back
            reply: tuple[str, dict[str, Any] | str | None] = ("ok", _described(decoded, len(pixels)))
            del pixels
        except RejectedImage as rejection:
            reply = ("rejected", rejection.reason)
        except MemoryError:
            reply = ("memory", None)
        except Exception as exc:  # decode_image turns decoder errors into RejectedImage; anything else
            reply = ("rejected", f"the decoder failed: {type(exc).__name__}: {exc}"[:500])
        data = b""  # the image's bytes are not held while the reply is written
        seconds = time.perf_counter() - started
        now = _statuses(status)
        stats: dict[str, Any] = {
            "seconds": seconds,
            "peak": now["VmHWM"],
            "rss": now["VmRSS"],
            "size": now["VmSize"],
            "baseline": baseline,
            "start_rss": start_rss,
            "ms": timings,
        }
        try:
            _write_all(wfd, _framed((reply, stats)))
        except MemoryError:
            _write_all(wfd, _framed((("memory", None), stats)))
        if reply[0] == "memory":
            return 0  # an allocation failed somewhere: leave it to a fresh process
        decoded = reply = None  # type: ignore[assignment]  # nothing of this image is held while waiting


def _framed(message: object) -> bytes:
    """A length header and `message` as JSON, in one piece: one write, so the reader wakes once.
    JSON, never pickle: the worker runs decoders on hostile files, and a decoder it cannot trust
    must not be able to make the caller run code by what it sends back."""
    body = json.dumps(message).encode()
    return _HEADER.pack(len(body)) + body


def _contract(spec: dict[str, Any]) -> InputContract:
    """The model's input contract from a job (`_job_contract`'s JSON)."""
    return InputContract(
        size=(int(spec["size"][0]), int(spec["size"][1])),
        resize=str(spec["resize"]),
        filter=str(spec["filter"]),
        reducing_gap=None if spec["reducing_gap"] is None else float(spec["reducing_gap"]),
        pad_colour=(int(spec["pad_colour"][0]), int(spec["pad_colour"][1]), int(spec["pad_colour"][2])),
    )


def _job_contract(contract: InputContract) -> dict[str, Any]:
    return {
        "size": list(contract.size),
        "resize": contract.resize,
        "filter": contract.filter,
        "reducing_gap": contract.reducing_gap,
        "pad_colour": list(contract.pad_colour),
    }


def _fitted(decoded: DecodedImage, contract: InputContract) -> DecodedImage:
    """`decoded` with its picture fitted to the model's input (`contract.apply`, what the classifier
    would do next): the classifier's own `apply` on it is then a copy (same size, whole box)."""
    started = time.perf_counter()
    image = contract.apply(decoded.image)
    return replace(decoded, image=image, fit_ms=(time.perf_counter() - started) * 1000.0)


def _tiled(decoded: DecodedImage, contract: InputContract, tiling: Tiling) -> DecodedImage:
    """`decoded` cut into the detector's views (the whole picture and its tiles, spotter.model.tiling),
    each fitted to the model's input: only those come back, never the full-resolution picture."""
    started = time.perf_counter()
    plan = tiling.plan(decoded.width, decoded.height)
    views = tuple(cut_views(decoded.image, plan, contract))
    fit_ms = (time.perf_counter() - started) * 1000.0
    return replace(decoded, image=views[0].image, fit_ms=fit_ms, views=views, plan=plan)


def _described(decoded: DecodedImage, length: int) -> dict[str, Any]:
    """A decoded image as plain data: its pixels go through the shared file, `length` bytes."""
    tiles = {}
    if decoded.plan is not None:
        tiles = {
            "views": [[list(v.region), list(v.window)] for v in decoded.views],
            "tile": decoded.plan.tile,
            "grown_from": decoded.plan.grown_from,
            "max_tiles": decoded.plan.max_tiles,
            "squash": decoded.plan.squash,
        }
    return {
        **tiles,
        "mode": decoded.image.mode,
        "size": list(decoded.image.size),
        "length": length,
        "width": decoded.width,
        "height": decoded.height,
        "format": decoded.format,
        "frames": decoded.frames,
        "field": asdict(decoded.field),
        "decode_ms": decoded.decode_ms,
        "fit_ms": decoded.fit_ms,
    }


MAX_REPLY_BYTES = 1 * MiB  # a reply is a few hundred bytes (a reason is cut to 500 characters, EXIF text to 200)
_GARBLED = "the decode worker sent back a reply that does not add up; it was replaced"
_STATS = ("seconds", "peak", "rss", "size", "baseline", "start_rss")


def _parsed(
    body: bytes, fit: InputContract | None, max_pixels: int, tiling: Tiling | None = None
) -> tuple[str, Any, dict[str, Any]]:
    """A reply's (kind, value, stats), checked before anything is read from the shared file: a
    decoder that went wrong (or was taken over by its input) cannot make this process read more
    than the picture it was asked for; what does not add up raises (ValueError, KeyError, TypeError,
    OverflowError, RecursionError: the caller turns each into a rejection)."""
    (kind, value), stats = json.loads(body)
    if not isinstance(stats, dict) or not all(isinstance(stats[k], (int, float)) for k in _STATS):
        raise ValueError("stats")
    if not isinstance(stats.setdefault("ms", {}), dict):
        raise ValueError("stats")
    if kind == "ok":
        width, height = (int(n) for n in value["size"])
        most = fit.size[0] * fit.size[1] if fit is not None else max_pixels
        views = 1
        if tiling is not None:
            views = len(value["views"])
            if not 1 <= views <= tiling.max_tiles + 1:
                raise ValueError("views")
        if not (width > 0 and height > 0 and width * height <= most and value["length"] == 3 * width * height * views):
            raise ValueError("size")
    elif not (kind == "rejected" and isinstance(value, str)) and kind != "memory":
        raise ValueError("kind")
    return kind, value, stats


def _rebuilt(
    described: dict[str, Any], pixels: bytes, fit: InputContract | None = None, tiling: Tiling | None = None
) -> DecodedImage:
    size = described["size"]
    fit_ms = described.get("fit_ms")
    each = 3 * size[0] * size[1] if len(size) == 2 else -1
    views: tuple[View, ...] = ()
    plan = None
    if tiling is not None:
        views = tuple(
            View(
                _region(region),
                Image.frombytes("RGB", (size[0], size[1]), pixels[i * each : (i + 1) * each]),
                _region(window, _PAD_REACH),
            )
            for i, (region, window) in enumerate(described["views"])
        )
        regions = tuple(v.region for v in views[1:])
        grown = described.get("grown_from")
        plan = TilePlan(
            regions,
            int(described["tile"]),
            None if grown is None else int(grown),
            int(described["max_tiles"]),
            float(described["squash"]),
        )
        pixels = pixels[:each]
    if (
        described["mode"] != "RGB"
        or len(size) != 2
        or len(pixels) != each
        or (fit is not None and (tuple(size) != fit.size or fit_ms is None))
        or (fit is None and fit_ms is not None)
    ):
        raise RejectedImage(_GARBLED)
    return DecodedImage(
        image=Image.frombytes("RGB", (size[0], size[1]), pixels),
        width=int(described["width"]),
        height=int(described["height"]),
        format=str(described["format"]),
        frames=int(described["frames"]),
        field=FieldMetadata(**described["field"]),
        decode_ms=float(described["decode_ms"]),
        fit_ms=None if fit_ms is None else float(fit_ms),
        views=views,
        plan=plan,
    )


_PAD_REACH = 1e6  # a padded input's window reaches past the picture by its aspect ratio


def _region(values: Any, reach: float = 0.0) -> Region:
    """Four finite fractions from a reply (a window may reach `reach` past the picture: padding)."""
    x0, y0, x1, y1 = (float(v) for v in values)
    if not all(-reach <= v <= 1.0 + reach for v in (x0, y0, x1, y1)) or not (x0 < x1 and y0 < y1):
        raise ValueError("region")
    return x0, y0, x1, y1


def _pipe(pipe: IO[bytes] | None) -> IO[bytes]:
    """A worker's stdin or stdout: always there, as `_spawn` asks for pipes."""
    if pipe is None:
        raise RuntimeError("the decode worker was started without pipes")
    return pipe


# ---- the caller side ------------------------------------------------------------------------------


class BudgetedDecoder:
    """Decode with `decode_image`, bounded: at most `limits.seconds` of wall time and
    `limits.memory_bytes` of memory on top of the worker's own baseline; one warm worker,
    reused, replaced after a kill or when it has grown (fragmentation) by `recycle_bytes`."""

    def __init__(self, limits: DecodeLimits, recycle_bytes: int = 96 * MiB, python: str | None = None) -> None:
        self.limits = limits
        self.recycle_bytes = recycle_bytes
        self.python = python or sys.executable
        self._process: subprocess.Popen[bytes] | None = None
        self._starting: subprocess.Popen[bytes] | None = None  # launched by start(wait=False), not yet ready
        self._shared: int | None = None
        self._baseline = 0
        self._lock = threading.Lock()
        self.starts = 0  # workers started (a kill or a recycle starts another)
        self.last_stats: dict[str, float] = {}  # the worker's measures of the last decode

    # the worker's life
    def start(self, wait: bool = True) -> BudgetedDecoder:
        """Start the worker. `wait=False` only launches it: its interpreter and imports run beside
        the caller's (the classify function's cold start), and the first decode waits for it."""
        with self._lock:
            if wait:
                self._ensure()
            elif self._process is None and self._starting is None:
                self._starting = self._spawn()
        return self

    def _spawn(self) -> subprocess.Popen[bytes]:
        env = dict(os.environ)
        env.update(
            {
                "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
                "OMP_NUM_THREADS": "1",
                "OPENBLAS_NUM_THREADS": "1",
                "MKL_NUM_THREADS": "1",
                "MALLOC_ARENA_MAX": "1",  # one arena: no 64 MB address-space reservations per thread
                # What an image freed is kept for the next (up to WARM_HEAP_BYTES) rather than given
                # back and faulted in afresh: blocks under 32 MB (Pillow's image blocks) come from the
                # heap, and its free top is returned only above WARM_HEAP_BYTES (glibc's own default
                # returned a 12 MP PNG's 48 MB every time: 12,000 page faults an image)
                "MALLOC_MMAP_THRESHOLD_": str(32 * MiB),
                "MALLOC_TRIM_THRESHOLD_": str(WARM_HEAP_BYTES),
                "PYTHONDONTWRITEBYTECODE": "1",
            }
        )
        memory = self.limits.memory_bytes or 0
        if self._shared is None:
            self._shared = _shared_buffer()
        return subprocess.Popen(
            [self.python, "-m", "spotter.ingest.decode_sandbox", str(memory), str(self._shared)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            close_fds=True,
            pass_fds=(self._shared,),
            bufsize=0,
        )

    def _ensure(self) -> subprocess.Popen[bytes]:
        if self._process is not None and self._process.poll() is None:
            return self._process
        self._discard()
        process, self._starting = self._starting or self._spawn(), None
        try:
            ready = self._read_reply(process, deadline=time.monotonic() + 60)
        except BaseException:
            self._kill(process)
            raise
        if ready is None:
            self._kill(process)
            raise RuntimeError("the decode worker did not start")
        self._baseline = _HEADER.unpack(ready)[0]
        self._process = process
        self.starts += 1
        return process

    @staticmethod
    def _kill(process: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(OSError):
            process.kill()
        process.wait()
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()

    def _discard(self) -> None:
        if self._process is not None:
            self._kill(self._process)
            self._process = None

    def close(self) -> None:
        with self._lock:
            self._discard()
            if self._starting is not None:
                self._kill(self._starting)
                self._starting = None
            if self._shared is not None:
                os.close(self._shared)
                self._shared = None

    @staticmethod
    def _read_reply(process: subprocess.Popen[bytes], deadline: float, size: int | None = None) -> bytes | None:
        """`size` bytes (a header when None) from the worker by `deadline`; None on timeout."""
        fd = _pipe(process.stdout).fileno()
        want = _HEADER.size if size is None else size
        chunks, got = [], 0
        while got < want:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, min(want - got, 1 << 22))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    # one image
    def decode(
        self,
        data: bytes,
        target_size: tuple[int, int] = (224, 224),
        use_draft: bool = True,
        seconds: float | None = None,
        fit: InputContract | None = None,
        tiling: Tiling | None = None,
    ) -> DecodedImage:
        """`seconds` may lower the time limit (the invocation's remaining time). With `fit` (the
        model's input contract), the worker fits the picture to the model's input too (inside the
        same limits) and only that comes back: the result's `fit_ms` says how long the fit took.
        With `tiling` too (a detector's), the worker cuts the picture into the detector's views
        (spotter.model.tiling) and the result's `views` hold them, each fitted."""
        if tiling is not None and fit is None:
            raise ValueError("tiling needs the model's input contract (fit)")
        limit_s = (
            min(x for x in (self.limits.seconds, seconds) if x is not None)
            if (self.limits.seconds or seconds)
            else None
        )
        with self._lock:
            process = self._ensure()
            shared = self._shared
            if shared is None:  # _ensure spawned a worker, which made the shared file
                raise RuntimeError("the decode worker has no shared file")
            started = time.monotonic()
            deadline = started + (limit_s if limit_s is not None else 3600.0)
            job = json.dumps(
                {
                    "size": len(data),
                    "target_size": list(target_size),
                    "limits": asdict(self.limits),
                    "use_draft": use_draft,
                    "fit": None if fit is None else _job_contract(fit),
                    "tiling": None if tiling is None else tiling.to_json(),
                }
            ).encode()
            began = time.perf_counter()
            try:
                _pwrite_all(shared, data)
                # timed before the write: once it wakes the worker, this process may wait for a core
                sent = time.perf_counter()
                _write_all(_pipe(process.stdin).fileno(), _HEADER.pack(len(job)) + job)
                header = self._read_reply(process, deadline)
                length = None if header is None else _HEADER.unpack(header)[0]
                if length is not None and length > MAX_REPLY_BYTES:
                    self._discard()
                    raise RejectedImage(_GARBLED)
                body = None if length is None else self._read_reply(process, deadline, length)
            except (EOFError, BrokenPipeError, OSError):
                return self._crashed(process)
            if body is None:
                elapsed = time.monotonic() - started
                self._discard()
                if tiling is not None:  # the model's tiling, not only the picture, may be to blame
                    raise RejectedImage(
                        f"decoding the photo and cutting it into the detector's tiles ({tiling.tile} px, overlap "
                        f"{tiling.overlap:g}, at most {tiling.max_tiles}) took longer than the {limit_s:g} s time "
                        f"limit (stopped after {elapsed:.1f} s): larger tiles or fewer of them would fit"
                    )
                raise RejectedImage(
                    f"decoding took longer than the {limit_s:g} s time limit (stopped after "
                    f"{elapsed:.1f} s; the picture may be built to be slow to decode)"
                )
            replied = time.perf_counter()
            try:
                kind, value, stats = _parsed(body, fit, self.limits.max_pixels, tiling)
                decoded = (
                    None if kind != "ok" else _rebuilt(value, _pread_all(shared, int(value["length"])), fit, tiling)
                )
            except (KeyError, TypeError, ValueError, ArithmeticError, RecursionError, EOFError, RejectedImage):
                self._discard()  # a worker that says what it cannot mean is not trusted with the next image
                raise RejectedImage(_GARBLED) from None
            stats["ms"] = {
                **stats["ms"],
                "in": (sent - began) * 1000.0,
                "back": (time.perf_counter() - replied) * 1000.0,
                "total": (time.perf_counter() - began) * 1000.0,
            }
            self.last_stats = stats
            if max(len(data), 0 if decoded is None else int(value["length"])) > SHRINK_BUFFER_BYTES:
                os.ftruncate(shared, 0)
            if (
                kind == "memory"
                or stats["size"] - stats["baseline"] > self.recycle_bytes
                or stats["rss"] - stats["start_rss"] > self.recycle_bytes
            ):
                self._discard()  # replaced on the next image
        if decoded is not None:
            return decoded
        if kind == "memory":
            used = max(0, stats["peak"] - stats["start_rss"])
            cap = self.limits.memory_bytes
            # no cap: the worker ran out of the machine's memory (this message once failed to format)
            limit = f"the {cap / MiB:.0f} MB decode memory limit" if cap is not None else "the memory available"
            raise RejectedImage(
                f"decoding needed more than {limit} "
                f"(an allocation failed with {used / MiB:.0f} MB already in use for this image)"
            )
        raise RejectedImage(value)

    def _crashed(self, process: subprocess.Popen[bytes]) -> DecodedImage:
        try:
            code = process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        self._discard()
        if code == -signal.SIGKILL:  # never the decoder's own doing, and the budget kills only on time (above)
            raise DecoderLost("the decode worker was killed from outside (SIGKILL) while decoding; retrying")
        how = f"signal {-code} ({signal.Signals(-code).name})" if code is not None and code < 0 else f"exit {code}"
        raise RejectedImage(
            f"the image decoder crashed on this file ({how}); the worker was replaced and the "
            "other images are unaffected"
        )


def with_limits(limits: DecodeLimits, **changes: Any) -> DecodeLimits:
    return replace(limits, **changes)


if __name__ == "__main__":
    sys.exit(worker_main())
