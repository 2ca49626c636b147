"""goldsmith's tests (a regular package, so no installed package named ``tests`` can shadow it)."""
