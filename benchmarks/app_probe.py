"""Measure the review app in this process: start-up, memory, and handler time per key.

    python benchmarks/app_probe.py DB [--presses 20]

Prints one JSON object. Start-up is timed from before Textual and goldsmith are imported to
the first interactive review screen (the first paper shown). Handler time is measured inside
the app: every handler a key press triggers (the action and the field-moved handler it
causes) is timed and summed per press.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tui.app import make_app  # noqa: E402
from tui.screens.review import ReviewScreen  # noqa: E402

KEYS = {
    "next field": "j",
    "accept": "a",
    "next paper": "right_square_bracket",
    "filter change": "f",
}
# The actions, and _show_field: the field-moved handler (registered with @on, so it cannot be
# wrapped itself) does its work there. Only the outermost call is counted, so an action that
# shows a field is not counted twice.
TIMED = (
    "action_next_field",
    "action_accept",
    "action_next_paper",
    "action_cycle_filter",
    "_show_field",
)
spent: list[float] = []
depth = 0


def _timed(method):  # noqa: ANN001, ANN202
    def wrapper(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        global depth
        depth += 1
        begin = time.perf_counter()
        try:
            return method(self, *args, **kwargs)
        finally:
            depth -= 1
            if depth == 0:
                spent.append(time.perf_counter() - begin)

    return wrapper


for name in TIMED:
    setattr(ReviewScreen, name, _timed(getattr(ReviewScreen, name)))


async def probe(db: Path, presses: int, annotator: str) -> dict[str, object]:
    app = make_app(db, annotator)
    result: dict[str, object] = {}
    async with app.run_test(size=(160, 45)) as pilot:
        while not isinstance(app.screen, ReviewScreen) or app.screen.view is None:
            await pilot.pause(0.001)
        result["start_s"] = time.perf_counter() - STARTED
        result["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        await app.workers.wait_for_complete()
        per_key: dict[str, list[float]] = {}
        wall: dict[str, list[float]] = {}
        for label, key in KEYS.items():
            for _ in range(presses):
                if label == "next field" and app.screen.current_index >= 11:  # type: ignore[attr-defined]
                    app.screen.query_one("#fields").move_cursor(row=0)  # type: ignore[attr-defined]
                    await pilot.pause()
                spent.clear()
                begin = time.perf_counter()
                await pilot.press(key)
                wall.setdefault(label, []).append(time.perf_counter() - begin)
                per_key.setdefault(label, []).append(sum(spent))
                if not isinstance(app.screen, ReviewScreen):
                    # "a" on a proposal whose quote is not in the paper opens the editor to
                    # choose the evidence: close it, untimed.
                    await pilot.press("escape")
        result["handler_ms"] = {k: 1000 * statistics.median(v) for k, v in per_key.items()}
        result["handler_p90_ms"] = {
            k: 1000 * sorted(v)[int(len(v) * 0.9)] for k, v in per_key.items()
        }
        result["press_to_idle_ms"] = {k: 1000 * statistics.median(v) for k, v in wall.items()}
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("db", type=Path)
    parser.add_argument("--presses", type=int, default=20)
    parser.add_argument("--annotator", default="bench-annotator")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(probe(args.db, args.presses, args.annotator))))


if __name__ == "__main__":
    main()
