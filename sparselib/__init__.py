"""sparselib: IMP and pruning-stable sparsification methods on one training loop (Zimmer, Spiegel, Pokutta 2023)."""
__version__ = "0.1.0"
