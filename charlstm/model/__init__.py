"""The recurrent language model: building it, and its fast recurrent layers.

- `build`: input encoding, stacked LSTM/LN-LSTM/GRU/SimpleRNN + Dropout, Dense
  softmax.
- `lstm_stack`: stacked LSTMs as one loop with a hand-written backward pass.
- `ln_lstm`: the LSTM with layer normalisation inside the cell (Ba et al. 2016);
  `ln_lstm_stack`: stacked LN-LSTMs as one loop, with its backward pass;
  `stack_ops`: the gate-derivative factors and sequence sums both stacks use.
- `fast_rnn`: GRU and SimpleRNN layers with the input projections out of the loop.
- `export`: a batch-1 model of Keras's built-in layers, for use without charlstm.
"""
