"""Inference: engines that run a trained model, the one text generator over them,
sampling, line completion and `load`.

- `engine`: the engine protocol every engine implements.
- `numpy_engine`: the model's forward pass in numpy (no TensorFlow).
- `keras_engine`: the same protocol on Keras models (imports TensorFlow).
- `sampling`: `Sampling` settings and the choice of the next id.
- `generator`: `TextGenerator`, one sampling loop on any engine.
- `completion`: line completion by beam search, with a cache of warmed states.
- `states`: warmed states along a document as it is edited.
- `adaptation`: weights that learn the text being completed (dynamic
  evaluation, `charlstm.eval.dynamic`), for `complete --dynamic` and the LSP.
- `load`: a run directory -> a generator on the chosen engine.

Nothing here imports TensorFlow unless the Keras engine is asked for.
"""
