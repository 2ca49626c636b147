"""Evidence and values: text normalisation, grounding quotes in page text, the accelerator
catalog and the normalisers every value goes through."""
