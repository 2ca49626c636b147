"""An annotator at the keyboard, in a process of its own: drives the real review app headless
and logs what the app was told was stored, so a test can kill it or run several at once.

    python -m tests.review_driver DB ANNOTATOR LOG script   # fixed keys, then wait to be killed
    python -m tests.review_driver DB ANNOTATOR LOG random --seconds 60 --seed 1

The log is JSON lines, written and flushed as things happen:
``{"op": "recorded", "uuids": [...]}`` for every decision (or batch) the storage layer
committed, ``{"op": "undone", "uuids": [...]}`` for every undo, ``{"op": "notice", ...}`` for
every message the app showed, ``{"op": "ready"}`` once the script's keys are all pressed and
``{"op": "done", "keys": N}`` when a random session ends.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from pathlib import Path
from typing import Any, TextIO

from extraction.fields import Kind
from storage import decisions as decision_store
from tui.app import make_app
from tui.screens.editor import ValueEditor
from tui.screens.prompt import TextPrompt
from tui.screens.review import ReviewScreen

SIZE = (160, 45)
SCRIPT = ["a", "j", "n", "A", "right_square_bracket", "a", "a", "n", "u", "m"]
"""Accept, move, not reported, accept the rest, next paper, two accepts, not reported, undo
it, then ambiguous (which asks for a comment)."""


class Log:
    def __init__(self, path: Path) -> None:
        self.file: TextIO = path.open("a", encoding="utf-8")

    def write(self, **entry: Any) -> None:
        self.file.write(json.dumps(entry) + "\n")
        self.file.flush()


def spy_on_storage(log: Log) -> None:
    """Log what each decision write returned: what the app was told is stored."""
    record, undo_last = decision_store.record, decision_store.undo_last

    def logged_record(*args: Any, **kwargs: Any) -> Any:
        stored = record(*args, **kwargs)
        log.write(op="recorded", uuids=[d.uuid for d in stored])
        return stored

    def logged_undo(*args: Any, **kwargs: Any) -> Any:
        taken_back = undo_last(*args, **kwargs)
        log.write(op="undone", uuids=[d.uuid for d in taken_back])
        return taken_back

    decision_store.record = logged_record  # type: ignore[assignment]
    decision_store.undo_last = logged_undo  # type: ignore[assignment]


async def answer_dialogs(app: Any, pilot: Any) -> None:
    """Fill in whatever dialog a key opened, as an annotator would."""
    for _ in range(3):
        screen = app.screen
        if isinstance(screen, TextPrompt):
            await pilot.press(*"unclear", "enter")
        elif isinstance(screen, ValueEditor):
            await pilot.press(*editor_keys(screen))
        else:
            return
        await pilot.pause()
        if app.screen is screen:  # the value was refused: give up on this one
            await pilot.press("escape")
            await pilot.pause()


TYPED = {
    Kind.ACCELERATOR: "NVIDIA A100",
    Kind.COUNT: "16",
    Kind.INTEGER: "80",
    Kind.HOURS: "36h",
    Kind.DEVICE_HOURS: "1.5k",
    Kind.FLOP: "3.1e23",
    Kind.USD: "1000",
    Kind.TEXT: "Example",
    Kind.TEXT_LIST: "Example Fund",
}


def editor_keys(editor: ValueEditor) -> list[str]:
    """Keys that enter a valid value for the field being corrected: saved with the evidence
    the editor starts from, or (when it has none) without a quote, as an annotator may."""
    kind = editor.spec.kind
    save = "enter" if editor.evidence is not None else "ctrl+n"
    if kind is Kind.CHOICE:
        return ["down", save]
    if kind is Kind.CHOICE_LIST:
        return ["escape"]
    return ["ctrl+u", *TYPED[kind], save]


async def run(args: argparse.Namespace) -> None:
    log = Log(args.log)
    spy_on_storage(log)
    app = make_app(args.db, args.annotator, run=args.run)
    original_notify = app.notify

    def notify(message: str, **kwargs: Any) -> None:
        log.write(op="notice", message=str(message), severity=kwargs.get("severity", "information"))
        original_notify(message, **kwargs)

    app.notify = notify  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)
        if args.mode == "script":
            for key in SCRIPT:
                await pilot.press(key)
                await answer_dialogs(app, pilot)
            log.write(op="ready")
            await asyncio.sleep(3600)  # the test kills us here
            return
        rng = random.Random(args.seed)
        keys = ["a"] * 6 + ["n"] * 3 + ["e"] * 2 + ["j"] * 4 + ["k", "A", "u", "u", "m"]
        keys += ["right_square_bracket", "left_square_bracket", "space"]
        pressed = 0
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline:
            await pilot.press(rng.choice(keys))
            await answer_dialogs(app, pilot)
            pressed += 1
        log.write(op="done", keys=pressed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("db", type=Path)
    parser.add_argument("annotator")
    parser.add_argument("log", type=Path)
    parser.add_argument("mode", choices=["script", "random"])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run", default=None)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
