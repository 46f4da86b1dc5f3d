"""Load benchmark: the real app (``streamlit run app.py``) with 1, 5, 10 and 20 pricing managers at
once, each in its own headless Chromium session running a different what-if.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_load.py [--sessions 1,5,10,20] [--data DIR]
        [--json OUT.json]

For each round: a fresh server (127.0.0.1, a free port, headless) on a temporary copy of the data
folder and a temporary user store, so no answer is cached from an earlier round; then every
session signs in (its own user), waits for its first result (the default what-if, shared by all),
sets its own controls (attach target, bundles, price sensitivity: all different) and presses Run.
Meanwhile a viewer's session keeps switching between two pages that solve nothing (Price sheets,
Monthly runs) and times each draw.

Recorded per round: time to first result (sign-in pressed to the first answer on screen), what-if
time (Run pressed to that session's answer on screen), time for the queue's status line to
appear after Run, share of answers proven, errors (an error box, an exception, a timeout), peak
RSS of the server and its Dask processes (nannies, workers; not the browser), the page-draw times
of the viewer, the CPU seconds used by the server, its Dask processes and the browser, and the load
average before and after (the machine may be shared). Chromium runs on the same machine: the
viewer's at normal priority, the managers' at nice 19 (they stand for the team's laptops); the
Dask workers run at nice 10, the server at 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
PASSWORD = "a load-test phrase 123"
TIMEOUT_MS = 900_000
# Sessions open this far apart (seconds): people arrive within seconds, not the same millisecond.
STAGGER_S = 0.25


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def whatif_of(i: int) -> dict:
    """Session ``i``'s controls as key presses from the defaults (target 15%, 5 bundles,
    sensitivity 1.0): 20 different combinations, every target reachable."""
    return {"target_steps": 1 + i % 10, "bundle_steps": (i // 10) % 2, "sensitivity_steps": (i % 3) - 1}


class Server:
    """``streamlit run app.py`` on a copy of the data and a fresh store, with ``sessions``
    managers and one viewer."""

    def __init__(self, source: Path, sessions: int, work: Path):
        from pricing.access import Operator, UserDirectory

        self.data, self.store = work / "data", work / "store"
        shutil.copytree(source, self.data)
        users = UserDirectory(self.store)
        for i in range(sessions):
            users.add(f"manager{i:02d}", "manager", PASSWORD, Operator("bench"), must_change=False)
        users.add("viewer", "viewer", PASSWORD, Operator("bench"), must_change=False)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "BUNDLE_PRICING_DATA": str(self.data), "BUNDLE_PRICING_STORE": str(self.store),
               "BUNDLE_PRICING_RUNS": str(work / "runs"), "PYTHONPATH": str(ROOT)}
        env.pop("BUNDLE_PRICING_ACCESS_CONFIG", None)
        self.log = open(work / "streamlit.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
             "--server.port", str(self.port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.peak_rss, self._stop = 0, threading.Event()
        self.cpu: dict[tuple[str, int], float] = {}
        self.cpu_at_start: dict[tuple[str, int], float] = {}
        self._sampler = threading.Thread(target=self._sample, daemon=True)

    def wait_healthy(self, seconds: float = 90) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with code {self.proc.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as response:
                    if response.read().strip() == b"ok":
                        self._sampler.start()
                        return
            except OSError:
                time.sleep(0.3)
        raise TimeoutError(f"streamlit did not answer at {self.url}")

    def rss(self) -> int:
        """Bytes resident in the server and every process under it (Dask nannies and workers)."""
        try:
            root = psutil.Process(self.proc.pid)
            return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
        except psutil.Error:
            return 0

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            self.peak_rss = max(self.peak_rss, self.rss())
            self._cpu_sample()

    def _cpu_sample(self) -> None:
        """CPU seconds used so far by each process: the server, its Dask processes, and everything
        else this benchmark started (the browser). Kept per process, so one that ends keeps its count."""
        me = psutil.Process()
        for proc in me.children(recursive=True):
            try:
                times = proc.cpu_times()
                used = times.user + times.system
                if proc.pid == self.proc.pid:
                    group = "server"
                elif any(parent.pid == self.proc.pid for parent in proc.parents()):
                    group = "dask"
                else:
                    group = "browser"
            except psutil.Error:
                continue
            self.cpu[(group, proc.pid)] = max(self.cpu.get((group, proc.pid), 0.0), used)

    def cpu_by_group(self) -> dict[str, float]:
        """CPU seconds of the server, its Dask processes and the browser since the round began."""
        self._cpu_sample()
        out: dict[str, float] = {}
        for (group, pid), used in self.cpu.items():
            out[group] = out.get(group, 0.0) + used - self.cpu_at_start.get((group, pid), 0.0)
        return out

    def start_round(self) -> None:
        self._cpu_sample()
        self.cpu_at_start = dict(self.cpu)

    def stop(self) -> None:
        self._stop.set()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


async def sign_in(page, url: str, name: str) -> float:
    """Open the app and sign in; returns the ``perf_counter`` when Sign in was pressed."""
    await page.goto(url, timeout=TIMEOUT_MS)
    await page.get_by_label("User name").fill(name, timeout=TIMEOUT_MS)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    pressed = time.perf_counter()
    await page.get_by_role("button", name="Sign in").click()
    return pressed


async def press_keys(page, label: str, key: str, times: int) -> None:
    if times <= 0:
        return
    slider = page.get_by_test_id("stSlider").filter(has_text=label).get_by_role("slider")
    await slider.focus()
    for _ in range(times):
        await slider.press(key)


async def manager(browser, url: str, i: int, record: dict, delay: float) -> None:
    """One pricing manager: sign in, first result, own what-if, its answer."""
    from playwright.async_api import expect

    await asyncio.sleep(delay)
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    try:
        pressed = await sign_in(page, url, f"manager{i:02d}")
        optimality = page.get_by_test_id("stMetric").filter(has_text="Optimality")
        await expect(optimality).to_be_visible(timeout=TIMEOUT_MS)
        record["first_result_s"] = time.perf_counter() - pressed
        steps = whatif_of(i)
        await press_keys(page, "Attach-rate target", "ArrowLeft", steps["target_steps"])
        await press_keys(page, "Bundles offered", "ArrowLeft", steps["bundle_steps"])
        await press_keys(page, "Price sensitivity", "ArrowRight" if steps["sensitivity_steps"] > 0 else "ArrowLeft",
                         abs(steps["sensitivity_steps"]))
        target = 15.0 - 0.5 * steps["target_steps"]
        record["whatif"] = {"target_pct": target, "bundles": 5 - steps["bundle_steps"],
                            "sensitivity": round(1 + 0.05 * steps["sensitivity_steps"], 2)}
        run = time.perf_counter()
        await page.get_by_role("button", name="Run").click()
        status = page.get_by_text("Your what-if:")
        answer = page.get_by_test_id("stMetric").filter(has_text=f"vs target {target:.2f}%")
        await expect(status.or_(answer).first).to_be_visible(timeout=60_000)
        record["status_shown_s"] = time.perf_counter() - run
        await expect(answer).to_be_visible(timeout=TIMEOUT_MS)
        record["whatif_s"] = time.perf_counter() - run
        await expect(optimality).to_have_count(1, timeout=60_000)  # the old headline is gone
        record["proven"] = "Not proven" not in await optimality.inner_text()
        errors = await page.get_by_test_id("stAlertContentError").all_inner_texts()
        errors += await page.get_by_test_id("stException").all_inner_texts()
        record["errors"] = errors
    except Exception as exc:  # noqa: BLE001 - a session that failed is a figure of the round
        record["errors"] = [f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"]
    finally:
        await context.close()


async def viewer(browser, url: str, draws: list[float], stop: asyncio.Event) -> None:
    """A viewer switching between two pages that solve nothing, timing each page drawn."""
    from playwright.async_api import expect

    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    await sign_in(page, url, "viewer")
    await expect(page.get_by_role("heading", name="Price sheets")).to_be_visible(timeout=TIMEOUT_MS)
    pages = [("Monthly runs", "Monthly runs"), ("Price sheets", "Price sheets")]
    n = 0
    while not stop.is_set():
        link, heading = pages[n % 2]
        start = time.perf_counter()
        await page.get_by_role("link", name=link).click()
        await expect(page.get_by_role("heading", name=heading)).to_be_visible(timeout=TIMEOUT_MS)
        draws.append(time.perf_counter() - start)
        n += 1
        try:
            await asyncio.wait_for(stop.wait(), 1.0)
        except asyncio.TimeoutError:
            pass
    await context.close()


def niced_chromium(folder: Path) -> tuple[Path, Path]:
    """A Chromium launcher that writes its process id to a file (for :class:`Renicer`)."""
    script, pid_file = folder / "chromium-managers.sh", folder / "chromium-managers.pid"
    script.write_text(f'#!/bin/sh\necho $$ > "{pid_file}"\nexec nice -n 19 "{CHROMIUM}" "$@"\n')
    script.chmod(0o755)
    return script, pid_file


class Renicer:
    """Keeps the managers' browser (every process under it) at the lowest priority, nice 19: those
    browsers stand for twenty laptops, not for work of the server's machine, so they take only the
    CPU the server and its workers leave. Chromium raises its own browser and GPU processes'
    priority and starts a renderer per page, so this looks again every half second."""

    def __init__(self, pid_file: Path):
        self.pid_file, self._stop = pid_file, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            try:
                root = psutil.Process(int(self.pid_file.read_text()))
                for proc in [root, *root.children(recursive=True)]:
                    if proc.nice() != 19:
                        proc.nice(19)
            except (OSError, ValueError, psutil.Error):
                continue

    def stop(self) -> None:
        self._stop.set()


async def round_of(url: str, sessions: int, work: Path) -> tuple[list[dict], list[float]]:
    """The viewer's browser at normal priority (it measures what one person sees), the managers'
    in a second browser at nice 19."""
    from playwright.async_api import async_playwright

    records = [{"session": i} for i in range(sessions)]
    draws: list[float] = []
    async with async_playwright() as pw:
        probe_browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        launcher, pid_file = niced_chromium(work)
        browser = await pw.chromium.launch(executable_path=str(launcher), args=CHROMIUM_ARGS)
        renicer = Renicer(pid_file)
        stop = asyncio.Event()
        probe = asyncio.create_task(viewer(probe_browser, url, draws, stop))
        await asyncio.sleep(3)  # the viewer signed in before the managers arrive
        await asyncio.gather(*(manager(browser, url, i, records[i], i * STAGGER_S) for i in range(sessions)))
        stop.set()
        await probe
        renicer.stop()
        await browser.close()
        await probe_browser.close()
    return records, draws


def summarise(sessions: int, records: list[dict], draws: list[float], rss: int, load: tuple) -> dict:
    def stats(key: str) -> dict:
        values = sorted(r[key] for r in records if key in r)
        if not values:
            return {}
        return {"median": statistics.median(values), "max": values[-1], "min": values[0]}

    answered = [r for r in records if "proven" in r]
    return {
        "sessions": sessions, "first_result_s": stats("first_result_s"), "whatif_s": stats("whatif_s"),
        "status_shown_s": stats("status_shown_s"), "answers": len(answered),
        "proven": sum(1 for r in answered if r["proven"]),
        "errors": [e for r in records for e in r.get("errors", [])],
        "page_draw_s": {"count": len(draws), "median": statistics.median(draws) if draws else None,
                        "p90": sorted(draws)[int(0.9 * (len(draws) - 1))] if draws else None,
                        "max": max(draws) if draws else None,
                        "under_3s": sum(1 for d in draws if d < 3.0)},
        "peak_rss_mib": rss / 2**20, "load_before": load[0], "load_after": load[1], "records": records,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="1,5,10,20")
    parser.add_argument("--data", type=Path, default=ROOT / "data")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = []
    for sessions in [int(x) for x in args.sessions.split(",")]:
        work = Path(tempfile.mkdtemp(prefix="bench_load_"))
        server = Server(args.data, sessions, work)
        try:
            server.wait_healthy()
            before = os.getloadavg()
            server.start_round()
            started = time.perf_counter()
            records, draws = asyncio.run(round_of(server.url, sessions, work))
            summary = summarise(sessions, records, draws, server.peak_rss, (before, os.getloadavg()))
            summary["round_s"] = time.perf_counter() - started
            summary["cpu_s"] = server.cpu_by_group()
        finally:
            server.stop()
            shutil.rmtree(work, ignore_errors=True)
        results.append(summary)
        print(json.dumps({k: v for k, v in summary.items() if k != "records"}, default=str), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
