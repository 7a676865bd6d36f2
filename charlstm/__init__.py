"""charlstm: stateful character-level RNN language models on Keras 3.

Train on any text, generate from a warm-up seed:

    import charlstm
    result = charlstm.train("my_corpus/", run_dir="runs/mine")
    print(charlstm.load("runs/mine").generate("def ", 300, temperature=0.75))

Importing the package is cheap: TensorFlow and Keras load on first use of an
attribute that needs them.
"""

import importlib

__version__ = "0.1.0"

# Public name -> module that defines it. Modules load on first access (PEP 562).
_EXPORTS = {
    "ModelConfig": "charlstm.config",
    "DataConfig": "charlstm.config",
    "TrainingConfig": "charlstm.config",
    "RunConfig": "charlstm.config",
    "make_config": "charlstm.config",
    "preset": "charlstm.presets",
    "Vocabulary": "charlstm.data.vocabulary",
    "TokenVocabulary": "charlstm.data.tokens",
    "tokenize": "charlstm.data.tokens",
    "clean_text": "charlstm.data.cleaning",
    "read_text": "charlstm.data.corpus",
    "load_corpus": "charlstm.data.corpus",
    "StatefulBatches": "charlstm.data.batches",
    "WindowDataset": "charlstm.data.batches",
    "build_model": "charlstm.model.build",
    "export": "charlstm.model.export",
    "train": "charlstm.training.trainer",
    "TrainResult": "charlstm.training.trainer",
    "TextGenerator": "charlstm.infer.generator",
    "Sampling": "charlstm.infer.sampling",
    "load": "charlstm.infer.load",
    "NumpyEngine": "charlstm.infer.numpy_engine",
    "evaluate": "charlstm.eval.heldout",
    "evaluate_dynamic": "charlstm.eval.dynamic",
    "DynamicConfig": "charlstm.eval.dynamic",
    "extract_functions": "charlstm.eval.functions",
    "run_codegen": "charlstm.eval.codegen",
    "NoveltyIndex": "charlstm.eval.novelty",
    "record_activations": "charlstm.interpret.activations",
    "record_generation": "charlstm.interpret.activations",
    "text_features": "charlstm.interpret.features",
    "rank_neurons": "charlstm.interpret.neurons",
    "NeuronView": "charlstm.interpret.view",
    "SweepGrid": "charlstm.eval.grid",
    "run_sweep": "charlstm.eval.sweep",
    "plot_history": "charlstm.interpret.plots",
    "plot_temperature": "charlstm.interpret.plots",
    "sample": "charlstm.infer.sampling",
    "ProgressBar": "charlstm.training.callbacks",
    "SampleText": "charlstm.training.callbacks",
    "TimeBudget": "charlstm.training.callbacks",
    "TensorBoard": "charlstm.training.tensorboard",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'charlstm' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
