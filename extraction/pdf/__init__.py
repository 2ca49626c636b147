"""PDF text: reading pages with PyMuPDF in guarded worker processes, and ingesting papers."""
