"""Floors and simple peers: what the learned models have to beat."""
