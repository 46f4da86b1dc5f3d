"""Sign-in and approval benchmark: what a password check costs, and approvals one after another
and racing in pairs through the library (``pricing.access``).

    .venv/bin/python benchmarks/bench_access.py [PAIRS]

Everything is written into a temporary folder. Prints: Argon2id hash and verify with the shipped
parameters (median of 10), a failed sign-in without its wait, approvals in a row (median of 50,
each with its trail entry and the last sheet written), and PAIRS pairs of approvals by two
threads released together (all recorded? sheet equal to the newest approval after each pair?
trail intact?).
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    from pricing.access import AccessDenied, AccessSettings, Approvals, Identity, Operator, Role, Subject
    from pricing.access import UserDirectory, verify
    from pricing.access.passwords import hash_password, verify_password

    pairs = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    work = Path(tempfile.mkdtemp(prefix="bench_access_"))
    sheet = (ROOT / "data" / "last_sheet.csv").read_text()
    stored = hash_password("a benchmark phrase")
    print(f"Argon2id hash (median of 10): {statistics.median(timed(lambda: hash_password('x' * 16)) for _ in range(10)):.3f} s")
    print(f"Argon2id verify (median of 10): "
          f"{statistics.median(timed(lambda: verify_password(stored, 'a benchmark phrase')) for _ in range(10)):.3f} s")
    users = UserDirectory(work / "store", AccessSettings(delay_seconds=0, max_failures=1000))
    users.add("li.lei", "manager", "a benchmark phrase", Operator("bench"), must_change=False)

    def fail() -> None:
        try:
            users.authenticate("li.lei", "wrong phrase here")
        except AccessDenied:
            pass

    print(f"failed sign-in, without its wait (median of 10): {statistics.median(timed(fail) for _ in range(10)):.3f} s")
    data = work / "data"
    data.mkdir()
    approvals = Approvals(work / "store")
    wang, zhou = Identity("wang.fang", Role.FINANCE), Identity("zhou.min", Role.FINANCE)

    def approve(i: int, who: Identity) -> None:
        subject = Subject("run", f"m{i}", sheet.replace(",2949,", f",{2000 + i},"), "li.lei")
        approvals.decide(lambda con: subject, "approved", who, "ok", data)

    in_row = [timed(lambda i=i: approve(i, wang)) for i in range(50)]
    print(f"approval in a row, with trail entry and last sheet (median of 50): {statistics.median(in_row) * 1000:.1f} ms")
    errors, disagree = [], 0
    start = time.perf_counter()
    for p in range(pairs):
        barrier = threading.Barrier(2)

        def racer(i: int, who: Identity) -> None:
            barrier.wait()
            try:
                approve(i, who)
            except Exception as exc:  # noqa: BLE001 (any failure is the finding)
                errors.append(repr(exc))

        threads = [threading.Thread(target=racer, args=(1000 + 2 * p + k, who)) for k, who in enumerate((wang, zhou))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        newest = approvals.history()[0]
        disagree += (data / "last_sheet.csv").read_text() != sheet.replace(",2949,", f",{2000 + int(newest.subject[1:])},")
    racing = time.perf_counter() - start
    recorded = sum(1 for d in approvals.history() if int(d.subject[1:]) >= 1000)
    report = verify(work / "store")
    print(f"{pairs} racing pairs: {racing:.2f} s, {recorded} of {2 * pairs} decisions recorded, {len(errors)} errors, "
          f"sheet differed from the newest approval after {disagree} pairs, {report.line()}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
