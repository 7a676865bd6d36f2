"""`charlstm plot`: a run's training curves and the temperature figure as PNGs.

Does not import TensorFlow.
"""

from __future__ import annotations

from pathlib import Path

from charlstm.utils.checks import InputError


def add_parser(commands):
    p = commands.add_parser(
        "plot",
        help="plot a run's loss, perplexity and bits/char (PNG)",
        description="Write loss.png, perplexity.png and bits_per_char.png (training "
        "every few batches from RUN_DIR/batch_history.csv and validation per epoch "
        "from RUN_DIR/history.csv; both per epoch for runs without a batch history) "
        "and temperature.png "
        "(figure 3 of Frank (2022): a distribution reweighted at several "
        "temperatures) into --out. Needs matplotlib: pip install 'charlstm[viz]'.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory or history.csv")
    p.add_argument("--out", metavar="DIR", required=True, help="where the PNGs go")
    p.add_argument("--force", action="store_true", help="replace existing PNGs")
    p.add_argument(
        "--distribution",
        default="0.1,0.2,0.7",
        metavar="P,P,...",
        help="probabilities of the temperature figure (0.1,0.2,0.7)",
    )
    p.add_argument(
        "--temperatures",
        default="0.2,0.5,1,2",
        metavar="T,T,...",
        help="temperatures of that figure (0.2,0.5,1,2)",
    )
    return p


def _floats(flag: str, text: str) -> list[float]:
    try:
        return [float(item) for item in text.split(",")]
    except ValueError:
        raise InputError(
            f"{flag} must be comma-separated numbers, got {text!r}"
        ) from None


def run(args) -> int:
    from charlstm.interpret.plots import (
        TEMPERATURE_FIGURE,
        plot_history,
        plot_temperature,
        temperature_weights,
    )

    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError(
            "plots need matplotlib: pip install 'charlstm[viz]'"
        ) from None
    distribution = _floats("--distribution", args.distribution)
    temperatures = _floats("--temperatures", args.temperatures)
    temperature_weights(distribution, temperatures)  # checked before writing
    target = Path(args.out) / TEMPERATURE_FIGURE
    if target.exists() and not args.force:  # checked before any figure is written
        raise FileExistsError(
            f"plot already exists: {str(target)!r}. Use --force to replace it."
        )
    figures = plot_history(args.run_dir, args.out, force=args.force)
    paths = [Path(args.out) / f"{name}.png" for name in figures]
    paths.append(plot_temperature(target, distribution, temperatures, force=args.force))
    for path in paths:
        print(path)
    return 0
