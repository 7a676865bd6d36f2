"""Inference: engines that run a trained model, the one text generator over them,
sampling, line completion and `load`.

- `engine`: the engine protocol every engine implements.
- `numpy_engine`: the model's forward pass in numpy (no TensorFlow).
- `keras_engine`: the same protocol on Keras models (imports TensorFlow).
- `sampling`: `Sampling` settings and the choice of the next id.
- `generator`: `TextGenerator`, one sampling loop on any engine.
- `completion`: line completion by beam search, with a cache of warmed states.
- `load`: a run directory -> a generator on the chosen engine.

Nothing here imports TensorFlow unless the Keras engine is asked for.
"""
