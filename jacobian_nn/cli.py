"""``python -m jacobian_nn``: worked examples and exercise sheets from the command line.

    python -m jacobian_nn tanh                  # lecture 002's example and its slide's audit
    python -m jacobian_nn and                   # lecture 000's AND unit
    python -m jacobian_nn example SPEC [--latex | --markdown] [--beamer] [--out FILE] ...
    python -m jacobian_nn exercise --sizes 2 2 1 --seed 7 [--out-dir DIR] [--markdown] ...

A bad argument or spec file gets one clear line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from ._validate import MAX_DECIMALS, check_decimals
from .display import matrix_to_text
from .examples import TANH_SLIDE, and_gate, tanh_worked_example
from .exercises import ACTIVATIONS, DEFAULT_ASKED, TASKS, generate
from .sections import LAYOUTS, SECTIONS
from .spec import LOSSES, SpecError, load_spec

LAYOUT_NOTE = """\
Layout: the slide's ∂L/∂W = x_in · ∂L/∂x_out is shaped like Wᵀ, so
  ∂L/∂W0 (slide) = (∇_{W_1} L)ᵀ and ∂L/∂W1 (slide) = (∇_{W_3} L)ᵀ;
  its update W + η(∂L/∂W)ᵀ with η = −0.2 is our W − 0.2 ∇_W L."""


def print_tanh(decimals: int = 4) -> None:
    """Lecture 002's example step by step, then every number its slide prints, audited."""
    ex = tanh_worked_example()
    print("Lecture 002 writes x0 → x1 = W0 x0 → x2 = tanh(x1) → x3 = W1 x2, loss ½(x3 − y)².")
    print("In lecture 000's notation: z^(0) = x0, f_{W_1} = Linear(W0), f_{W_2} = Tanh,")
    print("f_{W_3} = Linear(W1); so z^(j) = x_j and the row ∂L/∂x_j = ∇_ŷLᵀ D^(j).\n")
    print(ex.to_text(decimals))
    print(LAYOUT_NOTE + "\n")
    audit = ex.audit(TANH_SLIDE.printed, layout=TANH_SLIDE.layout)
    print('The slide\'s printed numbers, audited (ex.audit(TANH_SLIDE.printed, layout="slide");')
    print("✓ exact, ≈ carried rounding, ✗ erratum):")
    print(audit.table(TANH_SLIDE.symbols))
    print("\nRounding, not errors: these follow from numbers the slide had already rounded")
    for e in audit.rounding:
        print(f"  - {TANH_SLIDE.symbols[e.quantity]}: {e}")
    print("\nErrata in the slide's numbers: "
          + ("none" if audit else "\n" + "\n".join(f"  - {e}" for e in audit.errata)))
    print("\nErrata in the slide's text (expressions; the numbers they print are right):")
    for line in TANH_SLIDE.text_errata:
        print(f"  - {line}")


def print_and(decimals: int = 4) -> None:
    net, X, Y = and_gate()
    print("Lecture 000's AND unit f(x) = σ(−30 + 20 x₁ + 20 x₂)\n")
    print(repr(net), "\n")
    for x, y, yhat in zip(X, Y, net(X), strict=True):
        print(f"  x = {matrix_to_text(x, 0)}   x₁ AND x₂ = {y[0]:.0f}   "
              f"f(x) = {yhat[0]:.{decimals}g}")


def _decimals(s: str) -> int:
    try:
        return check_decimals(int(s))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a whole number of digits, 0 to {MAX_DECIMALS}, got {s!r}") from None


def _lr(s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        v = math.nan
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {s!r}")
    return v


def _size(s: str) -> int:
    if not s.isdigit() or int(s) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number ≥ 1, got {s!r}")
    return int(s)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m jacobian_nn",
        description="Worked examples of backpropagation in lecture 000's notation, and "
                    "exercise sheets.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, text in (("tanh", "lecture 002's example, with its slide audited"),
                       ("and", "lecture 000's AND unit")):
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument("--decimals", type=_decimals, default=4, help="digits after the point")

    p = sub.add_parser("example", help="a worked example from a TOML or JSON spec file",
                       description="A worked example from a spec file (see examples/).")
    p.add_argument("spec", help="a .toml or .json file: layers, weights, x, y, loss, lr")
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--latex", action="store_true", help="LaTeX instead of plain text")
    kind.add_argument("--markdown", action="store_true", help="Markdown instead of plain text")
    p.add_argument("--beamer", action="store_true", help="LaTeX: one Beamer frame per section")
    p.add_argument("--document", action="store_true", help="LaTeX: a complete document")
    p.add_argument("--out", metavar="FILE", help="write to FILE instead of printing")
    p.add_argument("--decimals", type=_decimals, default=4, help="digits after the point")
    p.add_argument("--by-hand", type=_decimals, metavar="D",
                   help="also show each number as computed carrying D places")
    p.add_argument("--layout", choices=LAYOUTS, default="lecture",
                   help="slide: ∂L/∂W shaped like Wᵀ (lecture 002)")
    p.add_argument("--sections", nargs="+", choices=SECTIONS, help="which sections to show")
    p.add_argument("--packed-affine", action="store_true",
                   help="show an Affine layer's [W | b] as one matrix")

    p = sub.add_parser("exercise", help="write a problem sheet and its solution",
                       description="A random exercise with easy numbers: problem and solution.")
    p.add_argument("--sizes", type=_size, nargs="+", required=True, help="layer widths k h_1 …")
    p.add_argument("--seed", type=_size_or_zero, default=0, help="the same seed, the same sheet")
    p.add_argument("--activation", choices=sorted(ACTIVATIONS), default="tanh")
    p.add_argument("--loss", choices=sorted(LOSSES), default="half_squared")
    p.add_argument("--bias", action="store_true", help="Affine layers instead of Linear")
    p.add_argument("--lr", type=_lr, default=0.5, help="the step size α")
    p.add_argument("--ask", nargs="+", choices=list(TASKS), default=list(DEFAULT_ASKED),
                   help="which quantities the sheet asks for")
    p.add_argument("--decimals", type=_decimals, default=4, help="digits of the solution")
    p.add_argument("--markdown", action="store_true", help="Markdown instead of LaTeX")
    p.add_argument("--out-dir", default=".", metavar="DIR", help="where to write the two files")
    return parser


def _size_or_zero(s: str) -> int:
    if not s.isdigit():
        raise argparse.ArgumentTypeError(f"must be a whole number ≥ 0, got {s!r}")
    return int(s)


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise SpecError(f"cannot write {path}: {err.strerror}.") from None
    print(f"wrote {path}")


def _example(args) -> None:
    ex = load_spec(args.spec)
    if (args.beamer or args.document) and args.markdown:
        raise SpecError("--beamer and --document are LaTeX options; drop --markdown.")
    options = {"sections": args.sections, "layout": args.layout, "by_hand": args.by_hand,
               "split_affine": not args.packed_affine}
    if args.latex or args.beamer or args.document:
        text = ex.to_latex(args.decimals, beamer=args.beamer, document=args.document, **options)
    elif args.markdown:
        text = ex.to_markdown(args.decimals, **options)
    else:
        text = ex.to_text(args.decimals, **options)
    if args.out:
        _write(Path(args.out), text)
    else:
        print(text, end="")


def _exercise(args) -> None:
    ex = generate(args.sizes, args.activation, args.loss, args.seed, bias=args.bias,
                  lr=args.lr, asked=args.ask)
    out = Path(args.out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SpecError(f"cannot create {out}: {err.strerror}.") from None
    fmt, ext = ("markdown", "md") if args.markdown else ("latex", "tex")
    doc = {} if args.markdown else {"document": True}
    stem = f"exercise_{'-'.join(map(str, args.sizes))}_seed{args.seed}"
    _write(out / f"{stem}_problem.{ext}", ex.problem(fmt, decimals=args.decimals, **doc))
    _write(out / f"{stem}_solution.{ext}", ex.solution(fmt, decimals=args.decimals, **doc))


def main(argv: list[str] | None = None) -> int:
    """Run a command; bad arguments exit with status 2 and one line on stderr."""
    parser = _parser()
    args = parser.parse_args(argv)
    commands = {"tanh": lambda: print_tanh(args.decimals), "and": lambda: print_and(args.decimals),
                "example": lambda: _example(args), "exercise": lambda: _exercise(args)}
    try:
        commands[args.command]()
    except ValueError as err:  # SpecError and every input check of the library
        parser.exit(2, f"{parser.prog} {args.command}: error: {err}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
