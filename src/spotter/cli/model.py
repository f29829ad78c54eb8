"""`spotter model train|convert|evaluate|build-demo`: build, quantize and check a classifier.

TensorFlow is a build-time dependency (`model/requirements.txt`, `make install-model`); it is
imported only when one of these commands runs, never by `spotter --help` or `spotter predict`.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from spotter.config import REPO_MODEL_DIR
from spotter.modelbuild.demo_paths import DEMO_DATA, DEMO_KERAS, DEMO_SPLIT, DEMO_TFLITE, DEMO_WEIGHTS, REPO_ROOT


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "model", help="train, convert to int8 TFLite and evaluate a classifier (needs TensorFlow)"
    )
    commands = parser.add_subparsers(dest="model_command", required=True, metavar="STEP")

    train = commands.add_parser("train", help="train a MobileNetV2 classifier on an image folder or labels.csv")
    train.add_argument(
        "--data",
        type=Path,
        default=DEMO_DATA,
        help=f"images: one folder per class, or a labels.csv (default {DEMO_DATA})",
    )
    train.add_argument(
        "--label-column", help="labels.csv column holding the class (default: label, benign_malignant, class...)"
    )
    train.add_argument(
        "--weights",
        default=str(DEMO_WEIGHTS),
        help="backbone weights file, or 'imagenet' for Keras' download (default: the shared MobileNetV2 file)",
    )
    train.add_argument(
        "--out", type=Path, default=REPO_ROOT / "build" / "model.keras", help="where to save the Keras model (.keras)"
    )
    train.add_argument(
        "--split", type=Path, help="reuse this split file; default: make a stratified split, saved as OUT.split.json"
    )
    train.add_argument("--fractions", type=float, nargs=3, default=(0.6, 0.2, 0.2), metavar=("TRAIN", "VAL", "TEST"))
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--size", type=int, default=224, help="input side in pixels (default 224)")
    train.add_argument("--augment-copies", type=int, default=None, help="augmented views per training image")
    train.add_argument("--fine-tune-epochs", type=int, default=None, help="0: train the head only")
    train.add_argument(
        "--int8-aware-head",
        action="store_true",
        help="fit the head on float and int8 features too, and choose on int8 validation AUC "
        "(for models that lose accuracy in int8)",
    )
    train.add_argument("--backbone", default="mobilenet_v2", choices=["mobilenet_v2", "tiny"])
    train.set_defaults(run=_needs_tensorflow(_one_line_errors(run_train)))

    convert = commands.add_parser(
        "convert", help="a Keras model (.keras, .h5, SavedModel) to full-int8 TFLite plus its card"
    )
    convert.add_argument("model", type=Path, metavar="MODEL")
    convert.add_argument(
        "--calibration",
        type=Path,
        required=True,
        metavar="DIR",
        help="representative images (any folder of images, searched recursively)",
    )
    convert.add_argument("--calibration-limit", type=int, default=200)
    convert.add_argument("--out", type=Path, help="the .tflite to write (default MODEL-int8.tflite beside MODEL)")
    convert.add_argument("--name", help="model name for the card (default: from --out)")
    convert.add_argument("--version", default="1.0.0")
    convert.add_argument(
        "--labels", type=Path, help="labels file, one per line in output order (default: MODEL.split.json's labels)"
    )
    convert.add_argument(
        "--range",
        type=float,
        nargs=2,
        default=(-1.0, 1.0),
        metavar=("LOW", "HIGH"),
        help="the network's input range for pixels 0..255 (default -1 1, MobileNetV2)",
    )
    convert.add_argument("--intended-use", help="what the model is for, and for whom (the card's intended_use)")
    convert.add_argument(
        "--training-data", help="where the training data came from, and its licence (the card's training_data)"
    )
    convert.add_argument("--disclaimer", default=DEFAULT_DISCLAIMER, help="text for the card's disclaimer")
    convert.add_argument(
        "--qat-epochs",
        type=int,
        default=0,
        metavar="N",
        help="quantization-aware fine-tuning for N epochs, kept only if the int8 model then agrees "
        "with the float one better on validation (a model from `spotter model train`; needs --data)",
    )
    convert.add_argument("--data", type=Path, help="with --qat-epochs: the images the model was trained on")
    convert.add_argument("--label-column", help="with --qat-epochs: as for train")
    convert.set_defaults(run=_needs_tensorflow(_one_line_errors(run_convert)))

    evaluate = commands.add_parser(
        "evaluate", help="float vs int8 on the held-out test split; table printed and written into the card"
    )
    evaluate.add_argument("--model", type=Path, default=DEMO_KERAS, help="the float Keras model")
    evaluate.add_argument("--tflite", type=Path, default=DEMO_TFLITE, help="the int8 model (served by the runtime)")
    evaluate.add_argument("--data", type=Path, default=DEMO_DATA)
    evaluate.add_argument("--label-column")
    evaluate.add_argument(
        "--split", type=Path, default=None, help="split file (default: the demo split, or MODEL.split.json)"
    )
    evaluate.add_argument(
        "--positive",
        metavar="LABEL",
        help="two classes: the one sensitivity is about (default: the second label, e.g. malignant)",
    )
    evaluate.add_argument(
        "--target-sensitivity",
        type=float,
        default=0.80,
        metavar="S",
        help="two classes: choose each model's threshold on validation as the highest with this "
        "sensitivity (default 0.80); the int8 model is scored at its card's decision when it has one",
    )
    evaluate.add_argument("--no-card", action="store_true", help="do not write the metrics into the card")
    evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON instead of a table")
    evaluate.set_defaults(run=_one_line_errors(run_evaluate))

    demo = commands.add_parser(
        "build-demo", help="rebuild the shipped skin-lesion demo model from ../shared and print its evaluation"
    )
    demo.add_argument("--data", type=Path, default=DEMO_DATA)
    demo.add_argument("--weights", type=Path, default=DEMO_WEIGHTS)
    demo.add_argument(
        "--out-dir", type=Path, default=REPO_MODEL_DIR, help="where the .tflite, card and split go (default model/)"
    )
    demo.add_argument(
        "--card-only",
        action="store_true",
        help="no training: evaluate the built model again (build/skin-lesion/skin-lesion.keras and the "
        ".tflite in --out-dir) and rewrite its card",
    )
    demo.set_defaults(run=_needs_tensorflow(run_build_demo))


DEFAULT_DISCLAIMER = (
    "Scores are a model's output, not a diagnosis or a verified fact: check the card's metrics "
    "and limitations before relying on them."
)


def _fail(message: str) -> int:
    print(f"spotter model: {message}", file=sys.stderr)
    return 2


def _needs_tensorflow(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Training and conversion need the [build] extra: say so before reading any data."""

    def run(args: argparse.Namespace) -> int:
        if importlib.util.find_spec("tensorflow") is None:
            raise ModuleNotFoundError("No module named 'tensorflow'", name="tensorflow")
        return command(args)

    return run


def _one_line_errors(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A user's mistake (a bad file, folder, option or model) is one line, not a traceback."""
    from spotter.errors import ModelError, RejectedImage

    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except (OSError, ValueError, KeyError, ModelError, RejectedImage) as exc:
            return _fail(str(exc) if not isinstance(exc, KeyError) else f"missing {exc}")
        except Exception as exc:
            if type(exc).__name__ != "ConverterError":  # TensorFlow's, for an op TFLite cannot quantize
                raise
            return _fail(f"TensorFlow could not convert the model: {str(exc).strip().splitlines()[0]}")

    return run


def _split_beside(model: Path) -> Path:
    return model.with_suffix(".split.json")


def run_train(args: argparse.Namespace) -> int:
    from spotter.modelbuild.data import load_dataset, load_split, save_split, stratified_split
    from spotter.modelbuild.train import TrainConfig, save_model, train

    if args.out.suffix not in (".keras", ".h5"):
        return _fail(f"--out {args.out}: give a .keras (or .h5) file name")
    dataset = load_dataset(args.data, args.label_column)
    split = load_split(args.split) if args.split else stratified_split(dataset, tuple(args.fractions), args.seed)
    if args.backbone == "tiny":
        config = TrainConfig.tiny(size=args.size, seed=args.seed)
    else:
        config = TrainConfig(weights=args.weights, size=args.size, seed=args.seed)
    for option in ("augment_copies", "fine_tune_epochs"):
        if getattr(args, option) is not None:
            setattr(config, option, getattr(args, option))
    config.int8_aware_head = args.int8_aware_head
    model, log = train(dataset, split, config)
    path = save_model(model, args.out)
    save_split(split, _split_beside(path))
    path.with_suffix(".train.json").write_text(json.dumps(log, indent=1) + "\n", encoding="utf-8")
    print(f"saved {path}, {_split_beside(path).name} and {path.with_suffix('.train.json').name}")
    return 0


def run_convert(args: argparse.Namespace) -> int:
    from spotter.model.card import card_path_for, load_labels
    from spotter.modelbuild.cardfile import build_card, write_card
    from spotter.modelbuild.convert import (
        calibration_from_folder,
        convert,
        input_clipping,
        model_input_size,
        tensor_types,
    )
    from spotter.modelbuild.data import load_split
    from spotter.modelbuild.qat import quantization_method

    out = args.out or args.model.with_name(f"{args.model.stem}-int8.tflite")
    if args.labels:
        labels = load_labels(args.labels)
    elif _split_beside(args.model).exists():
        labels = tuple(load_split(_split_beside(args.model))["labels"])
    else:
        return _fail("give --labels (no MODEL.split.json beside the model to take them from)")
    if args.calibration_limit < 1:
        return _fail("--calibration-limit must be at least 1")
    train_log = args.model.with_suffix(".train.json")
    training: dict[str, Any] | None = json.loads(train_log.read_text()) if train_log.exists() else None
    if args.qat_epochs and not (args.data and training and _split_beside(args.model).exists()):
        return _fail(
            "--qat-epochs works on a model from `spotter model train` (MODEL.train.json and MODEL.split.json "
            "beside it) and needs --data, the images it was trained on"
        )
    if args.qat_epochs and tuple(args.range) != (-1.0, 1.0):
        return _fail("--qat-epochs: models from `spotter model train` take pixels scaled to -1 1; drop --range")
    size = model_input_size(args.model)
    calibration = calibration_from_folder(args.calibration, size, args.calibration_limit)
    method = "post-training quantization"
    if args.qat_epochs and training:  # training: there whenever --qat-epochs is (checked above)
        from spotter.modelbuild.convert import load_keras_model
        from spotter.modelbuild.data import load_dataset
        from spotter.modelbuild.qat import quantization_aware_int8
        from spotter.modelbuild.train import TrainConfig

        config = TrainConfig(**{**training["config"], "qat_epochs": args.qat_epochs})
        content, training["quantization_aware"] = quantization_aware_int8(
            load_keras_model(args.model),
            load_dataset(args.data, args.label_column),
            load_split(_split_beside(args.model)),
            config,
            calibration,
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(content)
        method = quantization_method(training["quantization_aware"])
    else:
        convert(args.model, out, calibration=calibration, value_range=tuple(args.range))
    types = tensor_types(out)
    clipped = input_clipping(types["input"], tuple(args.range))
    if clipped:
        print(f"spotter model: warning: {clipped}", file=sys.stderr)
    outputs = types["output"]["shape"][-1]
    if len(labels) != outputs and not (outputs == 1 and len(labels) == 2):
        out.unlink()
        return _fail(
            f"the model has {outputs} outputs but {len(labels)} labels were given "
            "(a single sigmoid output takes two labels: negative, then positive)"
        )
    card = build_card(
        args.name or out.stem.removesuffix("-int8"),
        args.version,
        labels,
        size,
        tuple(args.range),
        quantization={
            "type": "full-integer int8 (weights, activations, input and output)",
            "tensors": types,
            "method": method,
            "representative_dataset": f"{len(calibration)} images from {args.calibration}",
        },
        training_data=args.training_data,
        training=training,
        intended_use=args.intended_use,
        disclaimer=args.disclaimer,
    )
    write_card(card_path_for(out), card)
    print(f"wrote {out} ({out.stat().st_size} bytes) and {card_path_for(out).name}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from spotter.model.card import card_path_for
    from spotter.modelbuild.cardfile import read_card
    from spotter.modelbuild.convert import load_keras_model
    from spotter.modelbuild.data import load_dataset, load_split
    from spotter.modelbuild.demo import update_card_metrics
    from spotter.modelbuild.evaluate import evaluate
    from spotter.modelbuild.report import SEED_APPS, table

    split_path = args.split or (
        DEMO_SPLIT if args.tflite.resolve() == DEMO_TFLITE.resolve() else _split_beside(args.model)
    )
    for needed in (args.model, args.tflite, args.data, split_path):
        if not needed.exists():
            return _fail(f"{needed} does not exist" + (" (run `make model` first)" if needed == DEMO_KERAS else ""))
    dataset = load_dataset(args.data, args.label_column)
    model = load_keras_model(args.model)
    if model is None:
        return _fail("evaluate needs a .keras or .h5 model for the float side")
    card = read_card(card_path_for(args.tflite)) if card_path_for(args.tflite).exists() else {}
    value_range = card.get("input", {}).get("scaling", {}).get("range") or (-1.0, 1.0)  # as `convert --range` wrote it
    if args.positive is not None and args.positive not in dataset.labels:
        return _fail(f"--positive {args.positive!r} is not one of the labels {list(dataset.labels)}")
    positive = dataset.labels.index(args.positive) if args.positive is not None else 1
    decision = card.get("decision") if card.get("decision", {}).get("positive") == dataset.labels[positive] else None
    metrics = evaluate(
        model,
        args.tflite,
        dataset,
        load_split(split_path),
        name=args.tflite.stem,
        value_range=tuple(value_range),
        positive=positive,
        decision=decision,
        target=args.target_sensitivity,
    )
    if not args.no_card:
        update_card_metrics(card_path_for(args.tflite), metrics)
    demo = args.tflite.resolve() == DEMO_TFLITE.resolve()
    print(json.dumps(metrics, indent=1) if args.json else table(metrics, SEED_APPS if demo else None))
    return 0


def run_build_demo(args: argparse.Namespace) -> int:
    from spotter.modelbuild.demo import build_demo, refresh_demo_card

    try:
        if args.card_only:
            refresh_demo_card(args.out_dir, data_dir=args.data)
        else:
            build_demo(args.data, args.weights, args.out_dir)
    except FileNotFoundError as exc:
        return _fail(str(exc))
    return 0
