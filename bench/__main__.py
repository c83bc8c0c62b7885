"""`make bench`: run every scenario and print one table.

Servers: BENCH_DATABASE_URL / BENCH_REDIS_URL, else TEST_DATABASE_URL /
TEST_REDIS_URL, else embedded servers under var/bench.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

from bench.common import Row, Servers, print_table
from bench.scenarios_chat import chat_rows
from bench.scenarios_fees import fees_rows
from bench.scenarios_foundation import foundation_rows
from bench.scenarios_identity import identity_rows
from bench.scenarios_pdfs import pdf_rows
from bench.scenarios_records import records_rows
from bench.scenarios_run import run_rows
from bench.scenarios_web import web_rows
from bench.scenarios_webhooks import webhook_rows

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench")
    parser.add_argument(
        "--only",
        help="comma-separated groups: foundation,identity,records,chat,run,pdfs,webhooks,fees",
    )
    parser.add_argument("--seconds", type=float, default=3.0, help="load duration per scenario")
    args = parser.parse_args()
    groups = set(
        (args.only or "foundation,identity,records,chat,run,pdfs,webhooks,fees").split(",")
    )

    rows: list[Row] = []
    with Servers.open(ROOT) as servers:
        rows += web_rows(servers, ROOT) if "web" in groups else []
        if "foundation" in groups:
            rows += asyncio.run(foundation_rows(servers, seconds=args.seconds))
        if "identity" in groups:
            rows += asyncio.run(identity_rows(servers, seconds=args.seconds))
        if "records" in groups:
            rows += asyncio.run(records_rows(servers, seconds=args.seconds))
        if "chat" in groups:
            rows += asyncio.run(chat_rows(servers, seconds=args.seconds))
        if "webhooks" in groups:
            rows += asyncio.run(webhook_rows(servers))
        if "fees" in groups:
            rows += asyncio.run(fees_rows(servers))
    if "run" in groups:
        rows += run_rows(ROOT)
    if "pdfs" in groups:
        rows += pdf_rows()

    print_table(rows)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (out / f"bench-{stamp}.json").write_text(json.dumps([r.as_dict() for r in rows], indent=2))
    failed = [r for r in rows if r.ok is False]
    if failed and os.environ.get("BENCH_STRICT"):
        sys.exit(1)


if __name__ == "__main__":
    main()
