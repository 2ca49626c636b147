"""Extraction engines (Ollama, rules, imported proposals) and what they share: page selection,
the prompt, and running an extraction over papers."""
