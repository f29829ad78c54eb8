"""`spotter sync DIR --source NAME`: upload a drone's folder, resumably, for classification."""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING

from spotter.cli.progress import Progress
from spotter.cli.shown import shown
from spotter.cli.target import TargetError, add_target_arguments, require, resolve

if TYPE_CHECKING:
    from spotter.adapters.s3 import S3Folder
    from spotter.ops.sync import LocalFile

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("sync", help="upload a folder of images under drones/<source>/ (resumable)")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--source", required=True, help="drone or camera name: files go to drones/<source>/")
    parser.add_argument("--jobs", type=int, default=8, help="uploads in flight (default 8)")
    parser.add_argument("--retries", type=int, default=4, help="attempts per file (default 4)")
    parser.add_argument("--include-hidden", action="store_true", help="also upload dotfiles (skipped by default)")
    parser.add_argument(
        "--follow-symlinks",
        action="store_true",
        help="also upload what links lead to outside the folder (skipped by default, one line each)",
    )
    parser.add_argument("--dry-run", action="store_true", help="show what would be uploaded, upload nothing")
    add_target_arguments(parser)
    parser.set_defaults(run=run)


def _upload_with_retries(folder: S3Folder, file: LocalFile, attempts: int) -> str | None:
    from spotter.ops.sync import MULTIPART_CHUNK, MULTIPART_THRESHOLD

    for attempt in range(1, attempts + 1):
        try:
            folder.upload(file.path, file.key, file.content_type, MULTIPART_THRESHOLD, MULTIPART_CHUNK)
            return None
        except FileNotFoundError:
            return "file disappeared before upload"
        except Exception as exc:  # network and throttling errors: back off and try again
            if attempt == attempts:
                return f"{type(exc).__name__}: {exc}"
            time.sleep(min(8.0, 0.5 * 2 ** (attempt - 1)) * (0.5 + random.random()))
    return None


def run(args: argparse.Namespace) -> int:
    from spotter.adapters.aws import client
    from spotter.adapters.s3 import S3Folder
    from spotter.ops.sync import plan_sync, scan_folder, source_prefix

    if not args.folder.is_dir():
        print(f"spotter sync: {shown(args.folder)} is not a folder", file=sys.stderr)
        return EXIT_USAGE
    try:
        prefix = source_prefix(args.source)
        target = resolve(args, bucket_only=True)
        (bucket,) = require(target, "bucket")
    except (ValueError, TargetError) as exc:
        print(f"spotter sync: {exc}", file=sys.stderr)
        return EXIT_USAGE
    folder = S3Folder(client("s3"), bucket)
    files, skipped = scan_folder(
        args.folder, prefix, include_hidden=args.include_hidden, follow_symlinks=args.follow_symlinks
    )
    for passed in skipped:  # one line each, never retried: nothing about them will change on a retry
        print(f"skipped {shown(passed.path)}: {passed.reason}", file=sys.stderr)
    try:
        remote = {key: (size, etag) for key, size, etag, _ in folder.list(prefix)}
    except Exception as exc:
        print(f"spotter sync: cannot list s3://{target.bucket}/{prefix}: {shown(str(exc))}", file=sys.stderr)
        return EXIT_SOME_FAILED
    plan = plan_sync(files, remote)
    print(
        f"{len(files)} files in {shown(args.folder)}; {len(plan.unchanged)} already in s3://{target.bucket}/{prefix} "
        f"({target.description}); {len(plan.upload)} to upload ({plan.upload_bytes / 1e6:.1f} MB)",
        file=sys.stderr,
    )
    if args.dry_run:
        for file in plan.upload:
            print(f"would upload {shown(file.path)} -> s3://{target.bucket}/{shown(file.key)}")
        return EXIT_OK
    progress = Progress(len(plan.upload), plan.upload_bytes)
    failures: list[tuple[str, str]] = []
    done = 0
    pool = ThreadPoolExecutor(max_workers=max(1, args.jobs))
    try:
        futures = {pool.submit(_upload_with_retries, folder, f, max(1, args.retries)): f for f in plan.upload}
        for future in as_completed(futures):
            file, error = futures[future], future.result()
            done += 1
            if error:
                failures.append((os.fsdecode(file.path), error))
            progress.advance(file.size, failed=bool(error))
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)  # uploads in flight finish; queued ones never start
        progress.close()
        print(
            f"interrupted: {done - len(failures)} of {len(plan.upload)} uploaded; run the same command again "
            "to upload the rest (what is already there is skipped)",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    pool.shutdown()
    progress.close()
    uploaded = len(plan.upload) - len(failures)
    rate = uploaded / progress.elapsed if progress.elapsed > 0 else 0.0
    print(
        f"uploaded {uploaded}, skipped {len(plan.unchanged)} unchanged, failed {len(failures)} "
        f"in {progress.elapsed:.1f} s ({rate:.1f} files/s)",
        file=sys.stderr,
    )
    for path, error in failures:
        print(f"  failed: {shown(path)}: {shown(error)}", file=sys.stderr)
    return EXIT_SOME_FAILED if failures else EXIT_OK
