"""The recurrent language model: building it, and its fast recurrent layers.

- `build`: input encoding, stacked LSTM/GRU/SimpleRNN + Dropout, Dense softmax.
- `lstm_stack`: stacked LSTMs as one loop with a hand-written backward pass.
- `fast_rnn`: GRU and SimpleRNN layers with the input projections out of the loop.
"""
