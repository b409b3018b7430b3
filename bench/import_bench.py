"""Benchmark the DMS import: `python -m bench.import_bench [--rows N] [--database-url URL]`.

Writes an XLSX export of N rows (20,000 by default; openpyxl write-only, Chinese headers, Excel date
cells) with realistic values: valid mainland mobiles, VINs without I/O/Q, plates like 沪AD1234, some
customers with two vehicles and vehicles with several service visits. On a freshly migrated temporary
SQLite file (or a new PostgreSQL schema with --database-url) it then times

  dry run     services.customer_import.plan_import on the empty database (rolled back)
  import      apply_import + commit
  re-import   the same file again: apply_import + commit, which must create nothing

and measures memory: the process's peak resident set (ru_maxrss) after those runs, and the
tracemalloc peak of one more dry run on another fresh database (tracing makes Python about four times
slower, so it is not one of the timed runs; --no-trace skips it). As in wsgi.py, the objects built at
start-up are frozen out of the garbage collector (gc.freeze) before measuring. The target is an import
under 30 s. Exit code 0 whatever the figures; 1 when the file is refused, the dry run writes or the
re-import changes something.
"""
from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import resource
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

from flask_babel import force_locale
from flask_migrate import upgrade
from sqlalchemy import func, select, text

from bench.run import database
from careboard import create_app
from careboard.config import TestConfig
from careboard.extensions import db
from careboard.models import Customer, Sale, ServiceVisit, Vehicle
from careboard.services import customer_import
from careboard.services.errors import ImportRefused

TARGET_SECONDS = 30.0
HEADERS = ("客户姓名", "手机号", "生日", "车牌号", "车架号", "车型", "交车日期", "质保到期日", "保险到期日",
           "年检到期日", "首保到期日", "进站日期", "工单号", "维修项目")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志鹏宇浩然欣怡子涵梓萱俊杰"
MODELS = ("明锐 1.5L", "速派 2.0T", "柯迪亚克 2.0T", "卡罗拉 1.8L 双擎", "凯美瑞 2.5L", "RAV4 荣放 2.0L",
          "汉兰达 2.0T", "雷凌 1.5L", "科鲁克 1.5T", "亚洲龙 2.5L")
REPAIRS = ("首次保养", "常规保养：更换机油、机滤", "更换刹车片", "轮胎换位", "空调滤芯更换", "钣喷：左前门",
           "更换蓄电池", "四轮定位", "召回：软件升级", "雨刮片更换")
MOBILE_PREFIXES = ("133", "135", "136", "137", "138", "139", "150", "151", "152", "158", "159", "177",
                   "180", "181", "186", "187", "188", "189", "199")
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"      # never I, O or Q
WMIS = ("LSV", "LVG", "LFV", "LVH", "LTV")
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


# ---------------------------------------------------------------- the export


def generate_rows(rows: int, seed: int):
    """Rows of a DMS export: one per vehicle sold, plus one per service visit (1 to 3 for most vehicles)."""
    rng = random.Random(seed)
    today = date(2026, 11, 25)
    mobiles, vins, plates = set(), set(), set()
    made, work_order = 0, 100000

    def unique(seen: set, make):
        value = make()
        while value in seen:
            value = make()
        seen.add(value)
        return value

    while made < rows:
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        mobile = unique(mobiles, lambda: rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}")
        birthday = date(1960, 1, 1) + timedelta(days=rng.randrange(365 * 40)) if rng.random() < 0.7 else None
        for _vehicle in range(2 if rng.random() < 0.1 else 1):
            vin = unique(vins, lambda: rng.choice(WMIS) + "".join(rng.choice(VIN_CHARS) for _ in range(14)))
            plate = unique(plates, lambda: "沪" + rng.choice("ABCDEFGHJKLMN") + rng.choice(PLATE_LETTERS)
                           + f"{rng.randrange(10000):04d}")
            delivered = today - timedelta(days=rng.randrange(5 * 365))
            vehicle = [name, mobile, birthday, plate, vin, rng.choice(MODELS), delivered,
                       delivered + timedelta(days=3 * 365), delivered + timedelta(days=365 * (1 + rng.randrange(5))),
                       delivered + timedelta(days=365 * 2 * (1 + rng.randrange(3))), delivered + timedelta(days=182)]
            visits = rng.choice((0, 1, 1, 2, 2, 3))
            if visits == 0:
                yield vehicle + [None, None, None]
                made += 1
            day = delivered
            for _visit in range(visits):
                day += timedelta(days=60 + rng.randrange(300))
                if day > today:
                    break
                work_order += 1
                yield vehicle + [day, f"WO{day:%Y%m}{work_order}", rng.choice(REPAIRS)]
                made += 1
            if made >= rows:
                return


def write_xlsx(path: Path, rows: int, seed: int) -> int:
    import openpyxl
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("客户车辆")
    sheet.append(HEADERS)
    written = 0
    for row in generate_rows(rows, seed):
        sheet.append(row)
        written += 1
    book.save(path)
    return written


# ---------------------------------------------------------------- measuring


def counts() -> dict[str, int]:
    return {name: db.session.scalar(select(func.count()).select_from(model))
            for name, model in (("customers", Customer), ("vehicles", Vehicle), ("sales", Sale),
                                ("visits", ServiceVisit))}


def max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024      # KiB on Linux


def migrated_app(uri: str):
    app = create_app(type("BenchConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": uri}))
    with app.app_context():
        upgrade()
    return app


def timed(app, label: str, action) -> tuple[float, customer_import.ImportReport]:
    with app.app_context(), force_locale("en"):
        started, started_cpu = time.perf_counter(), time.process_time()
        report = action()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - started_cpu
        print(f"{label:<10} {elapsed:>6.1f} s (CPU {cpu:.1f} s)  " + " · ".join(report.summary()))
        db.session.remove()
    return elapsed, report


def dry_run(path: Path):
    return customer_import.plan_import(db.session, path)


def real_import(path: Path):
    try:
        report = customer_import.apply_import(db.session, path)
    except ImportRefused as refused:
        db.session.rollback()
        return refused.report
    db.session.commit()
    return report


def traced_dry_run(database_url: str | None, path: Path) -> int:
    """The tracemalloc peak of a dry run on a fresh, empty database (the same work as the import)."""
    with database(database_url) as uri:
        app = migrated_app(uri)
        tracemalloc.start()
        timed(app, "dry run*", lambda: dry_run(path))
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        with app.app_context():
            db.engine.dispose()
    return peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.import_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="rows of the export (default 20,000)")
    parser.add_argument("--database-url", metavar="URL",
                        help="a PostgreSQL URL; the benchmark works in new schemas it drops at the end")
    parser.add_argument("--seed", type=int, default=1, help="the export's random seed (default 1)")
    parser.add_argument("--no-trace", dest="trace", action="store_false",
                        help="skip the tracemalloc pass (a dry run about four times slower than untraced)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="careboard-import-bench-") as folder:
        path = Path(folder) / "dms-export.xlsx"
        started = time.perf_counter()
        written = write_xlsx(path, args.rows, args.seed)
        export_seconds = time.perf_counter() - started
        with database(args.database_url) as uri:
            app = migrated_app(uri)
            with app.app_context():
                dialect = db.engine.dialect.name
                version = sqlite3.sqlite_version if dialect == "sqlite" else db.session.scalar(
                    text("SHOW server_version")).split()[0]
                db.session.remove()
            print(f"CareBoard import benchmark · Python {platform.python_version()} · {dialect} {version} · "
                  f"{os.cpu_count()} CPUs · {platform.machine()}")
            print(f"export: {written:,} rows, {path.stat().st_size / 1024:,.0f} KiB, "
                  f"written in {export_seconds:.1f} s; "
                  f"peak RSS before importing {max_rss_mib():.0f} MiB")
            gc.collect()
            gc.freeze()                            # as wsgi.py does after start-up (and bench.run)

            plan_seconds, plan = timed(app, "dry run", lambda: dry_run(path))
            with app.app_context():
                after_plan = counts()
            import_seconds, report = timed(app, "import", lambda: real_import(path))
            with app.app_context():
                after_import = counts()
            reimport_seconds, again = timed(app, "re-import", lambda: real_import(path))
            with app.app_context():
                after_reimport = counts()
                db.engine.dispose()
            rss = max_rss_mib()
        peak = traced_dry_run(args.database_url, path) if args.trace else None

    print(f"peak RSS of the process (ru_maxrss) after the timed runs: {rss:.0f} MiB")
    if peak is not None:
        print(f"* traced with tracemalloc on a fresh database (slower, not a timing): peak {peak / 2**20:.1f} MiB "
              f"of Python allocations; ru_maxrss now {max_rss_mib():.0f} MiB")
    print(f"rows in the database: after the dry run {after_plan}; after the import {after_import}; "
          f"after the re-import {after_reimport}")
    problems = []
    if not plan.ok or not report.ok:
        problems.append(f"the file was refused: {(plan.errors or report.errors)[:5]}")
    if any(after_plan.values()):
        problems.append("the dry run wrote rows")
    if after_reimport != after_import or again.changed_rows:
        problems.append("the re-import changed something")
    verdict = "met" if import_seconds < TARGET_SECONDS else "MISSED"
    print(f"import of {written:,} rows: {import_seconds:.1f} s (target < {TARGET_SECONDS:g} s: {verdict}); "
          f"dry run {plan_seconds:.1f} s; re-import {reimport_seconds:.1f} s")
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
