"""Datasets: registry of vendored files with checksums, loaders per modality, users' own data."""
