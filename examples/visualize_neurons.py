"""Which units of a trained model track strings, comments, brackets, indentation?

Reads this very file with a trained run, ranks every unit of every layer by how
closely its activation follows features of the text (Frank, "Generating Python
with Character Level LSTMs" (2022), picked such neurons by hand), prints the best
three per feature and writes an HTML page of the file coloured by the best unit
for each feature.

    charlstm train --out runs/stdlib --time-budget 240
    python examples/visualize_neurons.py runs/stdlib neurons.html

The same from the command line: charlstm visualize runs/stdlib --text FILE --out
neurons.html --report neurons.json
"""

import sys
from pathlib import Path

import charlstm
from charlstm.interpret.view import auto_views, save_html


def main(run_dir: str, out: str) -> None:
    generator = charlstm.load(run_dir)
    source = Path(__file__).read_text(encoding="utf-8")
    # Every layer's h (and c for an LSTM) after each character: (layers, chars, units)
    acts = charlstm.record_activations(generator, source)
    features = charlstm.text_features(acts.text)  # in_string, bracket_depth, ...
    ranking = charlstm.rank_neurons(acts, features, top_k=3)
    for feature, scores in ranking.items():
        best = ", ".join(f"{s.neuron} r={s.correlation:+.2f}" for s in scores)
        print(f"{feature:>14}: {best or 'constant in this text'}")
    views = auto_views(ranking)  # the best unit for each feature
    # The page's picker also offers each feature's second best (picker=2).
    save_html(
        out,
        acts,
        views,
        ranking=ranking,
        source=__file__,
        feature_method=features.method,
    )
    print(f"wrote {out}: open it in a browser, hover a character for its value")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python examples/visualize_neurons.py RUN_DIR OUT.html")
    main(sys.argv[1], sys.argv[2])
