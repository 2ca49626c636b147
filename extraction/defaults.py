"""Defaults of the extraction and ingest options, apart from the modules that use them.

The command line needs them to declare its options; importing them from here keeps
``goldsmith --help`` and the commands that do not extract from loading the Ollama client
and PyMuPDF (a third of a second).
"""

from __future__ import annotations

OLLAMA_HOST = "http://127.0.0.1:11434"
OLLAMA_MODEL = "llama3.1:8b"
SEED = 42
NUM_PREDICT = 2048
REQUEST_TIMEOUT_S = 300.0
TOKEN_BUDGET = 6000
PDF_TIMEOUT_S = 120.0
PDF_MEMORY_MB = 2048
