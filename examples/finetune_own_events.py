"""Fine-tune a saved neurova model on your own event recordings.

You have a folder of event files (``.raw``, ``.aedat4``, ``.h5``, ``.dat``, ``.npz``) and a CSV
of valence/arousal labels at given times (see :mod:`neurova.datasets.event_files`)::

    file,t_us,valence,arousal
    alice_01.h5,1200000,0.4,-0.2
    ...

This script loads a model written by ``save_pretrained`` (for example ``runs/demo/model``
after ``make demo``), encodes your events exactly as the model was trained (its input
contract), splits the rows by subject into train and validation, fine-tunes with a lower
learning rate on the backbone (or a frozen backbone), and saves the result with
``save_pretrained``::

    python examples/finetune_own_events.py --model runs/demo/model \\
        --events my_recordings/ --labels my_recordings/labels.csv --out runs/finetuned
"""

from __future__ import annotations

import argparse
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader, Subset

from neurova.datasets import LabelledEventFiles, subject_holdout
from neurova.models import from_pretrained
from neurova.training import retain_freed_memory


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="folder written by save_pretrained (or a .ckpt)")
    parser.add_argument("--events", required=True, help="folder of event files")
    parser.add_argument("--labels", required=True, help="CSV: file,t_us,valence,arousal[,subject,x0,y0,width,height]")
    parser.add_argument("--out", required=True, help="where to save the fine-tuned model")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3, help="learning rate of the head")
    parser.add_argument("--backbone-lr", type=float, default=1e-4, help="learning rate of the backbone")
    parser.add_argument("--freeze-backbone", action="store_true", help="train the head only")
    parser.add_argument("--val-fraction", type=float, default=0.2, help="share of subjects held out")
    parser.add_argument("--box-jitter", default=None, metavar="SHIFT,SCALE",
                        help="train on face boxes moved and scaled as a face detector's error does, e.g. 0.04,0.09 "
                             "(for a model that will run with --detect-face); validation keeps the boxes given")
    parser.add_argument("--accelerator", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> Path:
    args = parse_args(argv)
    retain_freed_memory()  # reuse freed memory (glibc): faster CPU training, docs/training.md
    L.seed_everything(args.seed, verbose=False)
    model = from_pretrained(args.model)
    if model.input_contract is None:
        raise SystemExit(f"{args.model} has no input contract: it cannot say how to encode your events")
    model.hparams.lr = args.lr
    model.hparams.backbone_lr = args.backbone_lr
    model.hparams.freeze_backbone = args.freeze_backbone

    dataset = LabelledEventFiles(args.events, args.labels, model.input_contract)
    subjects = [row.subject for row in dataset.rows]
    split = subject_holdout([str(i) for i in range(len(dataset))], subjects, val_fraction=args.val_fraction,
                            test_fraction=0.0, seed=args.seed)
    index = {name: [int(i) for i in ids] for name, ids in split.items()}
    print(f"{len(dataset)} labelled samples from {len(set(subjects))} subjects: "
          f"{len(index['train'])} train, {len(index['val'])} validation")
    if args.box_jitter is not None:  # a second view of the same rows, its boxes jittered: training only
        jitter = tuple(float(v) for v in args.box_jitter.split(","))
        train_set = LabelledEventFiles(args.events, args.labels, model.input_contract, box_jitter=jitter)
    else:
        train_set = dataset
    train = DataLoader(Subset(train_set, index["train"]), batch_size=args.batch_size, shuffle=True)
    val = DataLoader(Subset(dataset, index["val"]), batch_size=args.batch_size) if index["val"] else None

    trainer = L.Trainer(max_epochs=args.epochs, accelerator=args.accelerator, devices=1, logger=False,
                        enable_checkpointing=False, enable_model_summary=False, log_every_n_steps=1)
    trainer.fit(model, train_dataloaders=train, val_dataloaders=val)
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if torch.as_tensor(v).numel() == 1}
    out = model.save_pretrained(args.out, metrics=metrics,
                                data_description=f"fine-tuned on {args.labels} ({len(dataset)} samples)")
    print(f"fine-tuned model -> {out}")
    return out


if __name__ == "__main__":
    main()
