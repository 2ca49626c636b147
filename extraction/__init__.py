"""PDF text, field schema, extraction engines, evidence and the gold set.

The field schema (:mod:`extraction.fields`, validated by :mod:`extraction.answers`) sits at the
top; the subpackages are ``pdf`` (text and ingest), ``engines`` (who proposes values),
``evidence`` (grounding and normalisation) and ``gold`` (export, scoring, agreement).
Imports ``storage`` only where results must be persisted; never imports the TUI.
"""
