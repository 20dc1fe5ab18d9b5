"""Recurrent layers (RNN, LSTM, GRU, minGRU, minLSTM) and the models built on them."""
