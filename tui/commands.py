"""The command palette (ctrl+p) offers every review action by name."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider


class ReviewCommands(Provider):
    """Each binding of the active screen that has a description, as a palette command."""

    def _commands(self) -> list[tuple[str, str, str]]:
        screen = self.screen
        seen: set[str] = set()
        found = []
        for binding in screen.BINDINGS:
            if not hasattr(binding, "action"):
                continue
            action = binding.action  # type: ignore[union-attr]
            description = binding.description  # type: ignore[union-attr]
            if not description or action in seen:
                continue
            seen.add(action)
            found.append((description, action, binding.tooltip or description))  # type: ignore[union-attr]
        return found

    async def discover(self) -> Hits:
        for name, action, help_text in self._commands():
            yield DiscoveryHit(name, partial(self.screen.run_action, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, action, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(name),
                    partial(self.screen.run_action, action),
                    help=help_text,
                )
