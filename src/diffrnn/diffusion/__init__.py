"""Gaussian and masked (discrete) diffusion: noise processes, losses, samplers, denoisers."""
