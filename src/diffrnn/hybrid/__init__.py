"""Models joining the families: TimeGrad (RNN + diffusion head), DCRNN (graph diffusion GRU)."""
