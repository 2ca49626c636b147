"""The goldsmith review app (Textual), built by :func:`make_app` for the CLI and the tests."""

from __future__ import annotations

from pathlib import Path

from sqlite_utils import Database
from textual.app import App
from textual.binding import Binding

from extraction.fields import field_spec
from storage import Access, open_database
from storage import runs as run_store
from storage.errors import GoldsmithError
from storage.queue import QueueFilter
from storage.runs import Run
from storage.samples import Sample
from tui.commands import ReviewCommands
from tui.console import printable
from tui.screens.review import ReviewScreen
from tui.session import ReviewSession, fields_for


class SetupError(GoldsmithError):
    """The review cannot start (unknown run or field); the message says why."""


class GoldsmithApp(App[None]):
    """Keyboard-driven review of proposals beside each paper's text."""

    CSS_PATH = "goldsmith.tcss"
    TITLE = "goldsmith"
    COMMANDS = App.COMMANDS | {ReviewCommands}
    BINDINGS = [
        Binding(
            "q",
            "quit",
            "Quit",
            tooltip="Quit (every decision is already saved)",
            id="goldsmith.quit",
        ),
        Binding("question_mark", "help", "Help", tooltip="Show every key", id="goldsmith.help"),
        Binding(
            "R",
            "report",
            "Report",
            tooltip="Corpus report: the run's rates and accuracy, corrected by a gold sample",
            id="goldsmith.report",
        ),
    ]

    def __init__(self, session: ReviewSession, keymap: dict[str, str] | None = None) -> None:
        super().__init__()
        self.session = session
        self._user_keymap = keymap or {}
        self.sub_title = session.annotator
        self.startup_notices: list[str] = []
        """Said once the app is up (the demo says where its database is)."""

    def on_mount(self) -> None:
        if self._user_keymap:
            self.set_keymap(self._user_keymap)
        self.push_screen(ReviewScreen(self.session))
        for notice in self.startup_notices:
            self.notify(printable(notice), timeout=12, markup=False)
        if self._user_keymap:
            from tui.keymap import keymap_problems

            # An unknown id or a key taken from another action, said at start, one line each.
            for problem in keymap_problems(self._user_keymap):
                self.notify(printable(problem), severity="warning", timeout=15, markup=False)

    def action_report(self) -> None:
        """Open the corpus report for the run under review and its sample (else the latest)."""
        from storage import samples as sample_store
        from tui.screens.report import ReportScreen

        if isinstance(self.screen, ReportScreen):
            return
        session = self.session
        sample = session.sample
        if sample is None:
            found = sample_store.list_samples(session.db)
            sample = found[0] if found else None
        self.push_screen(
            ReportScreen(
                session.db_path,
                session.run.name if session.run else None,
                sample.name if sample else None,
            )
        )

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        if isinstance(self.screen, ReviewScreen):
            self.push_screen(HelpScreen(self.screen))


def make_app(
    db_path: Path,
    annotator: str,
    *,
    run: str | None = None,
    field: str | None = None,
    keymap: dict[str, str] | None = None,
    adjudicate: bool = False,
    blind: bool = False,
    sample: str | None = None,
) -> GoldsmithApp:
    """The review app on ``db_path`` for ``annotator``.

    Args:
        run: Whose proposals to show (default: the latest run with proposals).
        field: Review this one field across all papers.
        adjudicate: Decide, as adjudicator, the fields annotators disagree on (or marked
            ambiguous), seeing every annotator's answer.
        blind: Hide each proposal until the annotator has answered.
        sample: Review only this gold sample (the annotator's share of it), in sample order.

    Raises:
        SetupError: The run, field or sample does not exist, or the sample assigns the
            annotator nothing.
    """
    db = open_database(db_path, access=Access.WRITE)
    # Decisions are copied from the log into the database file by a thread, soon after each
    # one, so the annotator never waits for the fsyncs (storage.db: checkpoint policy).
    db.background_checkpoints = True
    chosen: Run | None
    if run is not None:
        chosen = run_store.get_run(db, run)
        if chosen is None:
            names = ", ".join(r.name for r in run_store.list_runs(db)) or "none yet"
            raise SetupError(f"no run named {run!r} (runs: {names})")
    else:
        chosen = run_store.latest_run(db)
    if field is not None:
        try:
            field_spec(field)
        except KeyError as exc:
            raise SetupError(str(exc.args[0])) from None
    if adjudicate and blind:
        raise SetupError("--blind is for annotators; an adjudicator sees every answer")
    chosen_sample = _sample(db, sample, annotator, adjudicate) if sample is not None else None
    session = ReviewSession(
        db=db,
        db_path=Path(db_path),
        annotator=annotator,
        run=chosen,
        fields=fields_for(field),
        role="adjudicator" if adjudicate else "annotator",
        queue_filter=QueueFilter.UNDECIDED if adjudicate else QueueFilter.ALL,
        blind=blind,
        sample=chosen_sample,
    )
    return GoldsmithApp(session, keymap)


def _sample(db: Database, name: str, annotator: str, adjudicate: bool) -> Sample:
    """The sample to review, checked to hold papers for this annotator."""
    from storage import samples as sample_store

    found = sample_store.get_sample(db, name)
    if found is None:
        names = ", ".join(s.name for s in sample_store.list_samples(db)) or "none yet"
        raise SetupError(f"no sample named {name!r} (samples: {names})")
    if found.annotators and not adjudicate:
        counts = sample_store.assignment_counts(db, found.id)
        if annotator not in counts:
            raise SetupError(
                f"sample {name!r} assigns no papers to {annotator!r} "
                f"(its annotators: {', '.join(found.annotators)}; use --annotator)"
            )
    return found
