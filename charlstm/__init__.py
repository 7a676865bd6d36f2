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
    "preset": "charlstm.config",
    "Vocabulary": "charlstm.vocabulary",
    "TokenVocabulary": "charlstm.tokens",
    "tokenize": "charlstm.tokens",
    "clean_text": "charlstm.text",
    "read_text": "charlstm.text",
    "load_corpus": "charlstm.text",
    "StatefulBatches": "charlstm.data",
    "WindowDataset": "charlstm.data",
    "build_model": "charlstm.model",
    "train": "charlstm.training",
    "TrainResult": "charlstm.training",
    "TextGenerator": "charlstm.generation",
    "load": "charlstm.loading",
    "NumpyTextGenerator": "charlstm.numpy_generation",
    "NumpyEngine": "charlstm.engine",
    "evaluate": "charlstm.evaluation",
    "extract_functions": "charlstm.functions",
    "run_codegen": "charlstm.codegen",
    "NoveltyIndex": "charlstm.novelty",
    "record_activations": "charlstm.activations",
    "record_generation": "charlstm.activations",
    "text_features": "charlstm.features",
    "rank_neurons": "charlstm.neurons",
    "SweepGrid": "charlstm.sweep",
    "run_sweep": "charlstm.sweep",
    "plot_history": "charlstm.plots",
    "plot_temperature": "charlstm.plots",
    "sample": "charlstm.sampling",
    "ProgressBar": "charlstm.callbacks",
    "SampleText": "charlstm.callbacks",
    "TimeBudget": "charlstm.callbacks",
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
