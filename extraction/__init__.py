"""PDF text, field schema, extraction engines, grounding, normalisation and scoring.

Imports ``storage`` only where results must be persisted; never imports the TUI.
"""
