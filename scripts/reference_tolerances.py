"""Measure the reference detector's tolerances: the variation at which unseen good photos stay under 50.

    .venv/bin/python scripts/reference_tolerances.py

A model is trained on 20 generated good photos (800 x 600 px, the generator's default camera); then, for
each kind of variation in turn, with everything else held still, 8 unseen good photos are judged and the
highest Anomaly confidence among them is printed (under 50: none would FAIL). The README's "Tolerances"
table comes from this script. A few minutes on a laptop.
"""

from __future__ import annotations

from typing import Any

from inspector.reference import Scorer, train
from inspector.reference import synthetic as syn
from inspector.reference.imaging import decode

SIZE = (800, 600)
STILL: dict[str, Any] = {
    "shift_px": 0.0,
    "rotation_deg": 0.0,
    "gain": (1.0, 1.0),
    "offset": 0.0,
    "gradient": 0.0,
    "noise": (2.0, 2.0),
    "blur": (0.6, 0.6),
    "jpeg_quality": (90, 90),
}
TRIALS: list[tuple[str, str, list[Any]]] = [
    ("shift (px at 1,000 wide, per axis, up to)", "shift_px", [4.0, 8.0, 16.0, 32.0]),
    ("rotation (degrees, up to)", "rotation_deg", [1.0, 2.0, 3.0, 4.0]),
    ("gain", "gain", [(g, g) for g in (0.7, 0.8, 1.2, 1.3)]),
    ("offset (grey levels, up to)", "offset", [10.0, 20.0, 30.0]),
    ("lighting gradient", "gradient", [0.1, 0.2, 0.3]),
    ("JPEG quality", "jpeg_quality", [(q, q) for q in (70, 50, 30)]),
    ("noise (sd)", "noise", [(n, n) for n in (4.0, 6.0, 8.0)]),
    ("blur (radius at 1,000 wide)", "blur", [(b, b) for b in (1.2, 1.8, 2.5)]),
]


def main() -> None:
    model = train([(f"{i}.jpg", syn.widget(100 + i, SIZE)) for i in range(20)])
    scorer = Scorer(model)
    print(f"threshold score {model.threshold:.2f}; alignment seen in training {model.alignment}")
    for title, field, values in TRIALS:
        for value in values:
            camera = syn.Camera(**{**STILL, field: value})
            worst = max(
                scorer.score(
                    decode(syn.widget(7000 + i, SIZE, camera=camera), reduce=model.reduce)
                ).confidence
                for i in range(8)
            )
            print(f"{title:45} {value!s:14} worst good confidence {worst:5.1f}")


if __name__ == "__main__":
    main()
