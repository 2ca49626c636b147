"""Extraction engines (Ollama, OpenAI-compatible servers, rules, imported proposals) behind one
small interface (:mod:`extraction.engines.base`), and what they share: page selection, the
prompt, asking a model (:mod:`extraction.engines.model`) and running an extraction over papers."""
