"""How long one certificate takes to render, per script: `make bench`.

Renders certificates with Latin, Yoruba, Arabic and CJK names in this process: the first
render (cold: fonts loaded, Pango's font map built), then warm renders of each name, then
two threads rendering at once, as the API's thread pool and the worker do. Prints a table
and exits 1 if a warm median exceeds the budget (one second; the target is well under).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date
from functools import partial

from services.certificate_documents import CertificateDocument, render_pdf

BUDGET_SECONDS = 1.0
WARM_RUNS = 15  # per script: about 5 s in all on this 2-core machine
THREADED_RUNS = 16

BASE = CertificateDocument(
    platform_name="Online Learning Platform",
    learner_name="",
    course_title="Foundations of Data Engineering with Python and SQL",
    instructor_name="Dr. Amara Okafor",
    completed_on=date(2026, 12, 2),
    issued_on=date(2026, 12, 3),
    unique_id="CERT-7KQ2-M9XD-4TPA-B3HC",
    verification_url="http://127.0.0.1:8000/verify/CERT-7KQ2-M9XD-4TPA-B3HC",
)
NAMES = {
    "latin": "Zoë Ångström-Núñez",
    "yoruba": "Adébáyọ̀ Ọláńrewájú",
    "arabic": "ليلى عبد الله",
    "chinese": "王小明",
    "japanese": "山田太郎",
    "korean": "김민준",
    "latin, 255 chars": ("Maximiliana Theodora " * 13)[:255],
    "chinese, 255 chars": "王" * 255,
}


def timed(render: Callable[[], bytes]) -> tuple[float, bytes]:
    start = time.perf_counter()
    pdf = render()
    return time.perf_counter() - start, pdf


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f}"


def main() -> int:
    documents = {script: replace(BASE, learner_name=name) for script, name in NAMES.items()}
    cold, _ = timed(partial(render_pdf, documents["latin"]))
    print(f"cold first render (fonts loaded, font map built): {ms(cold)} ms\n")

    print(f"{'script':<20} {'first':>8} {'median':>8} {'p95':>8} {'max':>8} {'PDF KiB':>8}")
    worst_median = 0.0
    for script, document in documents.items():
        render = partial(render_pdf, document)
        first, pdf = timed(render)
        runs = sorted(timed(render)[0] for _ in range(WARM_RUNS))
        median = statistics.median(runs)
        p95 = runs[min(len(runs) - 1, round(0.95 * (len(runs) - 1)))]
        worst_median = max(worst_median, median)
        print(
            f"{script:<20} {ms(first)} {ms(median)} {ms(p95)} {ms(runs[-1])} {len(pdf) / 1024:8.1f}"
        )

    mixed = list(documents.values()) * (THREADED_RUNS // len(documents))
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(render_pdf, mixed[:2]))  # each thread builds its own font map first
        elapsed, _ = timed(lambda: b"".join(pool.map(render_pdf, mixed)))
    print(
        f"\n2 threads, {len(mixed)} mixed renders: {elapsed:.2f} s, "
        f"{len(mixed) / elapsed:.1f} certificates/s"
    )

    within = worst_median <= BUDGET_SECONDS
    print(
        f"slowest warm median {ms(worst_median).strip()} ms, budget {BUDGET_SECONDS:.0f} s: "
        + ("ok" if within else "OVER BUDGET")
    )
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
