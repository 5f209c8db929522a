"""Generate ``allowlist.json`` for the pinned library versions: ``python -m modelwatch.core.intake.build_allowlist``.

It fits every scikit-learn estimator that predicts (plus the transformers a pipeline may hold, the
meta-estimators, and the XGBoost/LightGBM wrappers) on small data, pickles each with protocols 0 to 5 and
with joblib, and records every global the static walk sees with how it is used. Curated additions (numpy
ufuncs for FunctionTransformer, numpy scalar types) are listed below. Nothing on the never-list may
appear: generation stops if it does. Review the diff of the JSON file before committing it.
Use ``--check`` to compare the committed file with a fresh generation (exit 1 on a difference), and
``--verify`` to load every estimator in every format through the intake, validate it and compare its predictions.
"""
from __future__ import annotations

import argparse
import io
import json
import pickle
import sys
import warnings
from importlib.metadata import version
from typing import Any

import numpy as np

from modelwatch.core.intake.allowlist import ALLOWLIST_PATH, GUARDED, is_never
from modelwatch.core.intake.opcodes import ScanLimits, walk_pickle

# Calls the generator cannot observe but legitimate files make (see the unpickler's argument checks).
CURATED: dict[tuple[str, str], set[str]] = {
    ("builtins", "slice"): {"call"},
    ("builtins", "set"): {"call"},
    ("builtins", "frozenset"): {"call"},
    ("builtins", "complex"): {"call"},
    ("builtins", "bytearray"): {"call"},
    ("builtins", "object"): {"value"},
    ("collections", "OrderedDict"): {"call"},
    ("collections", "defaultdict"): {"call"},
    ("copyreg", "_reconstructor"): {"call"},
    ("_codecs", "encode"): {"call"},
    ("numpy", "ndarray"): {"value"},
    ("numpy", "dtype"): {"call"},
    ("numpy._core.multiarray", "_reconstruct"): {"call"},
    ("numpy._core.multiarray", "scalar"): {"call"},
    ("numpy._core.numeric", "_frombuffer"): {"call"},
    ("joblib.numpy_pickle", "NumpyArrayWrapper"): {"new"},
}
SCALAR_TYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16",
                "float32", "float64", "longdouble", "complex64", "complex128", "str_", "bytes_", "object_")


# Estimators that need other data than a 3-class problem or a plain regression.
SPECIAL_DATA = {"Poisson": "reg_pos", "Gamma": "reg_pos", "Tweedie": "reg_pos", "MultiTask": "multi", "PLS": "multi",
                "CCA": "multi", "MultiOutput": "multi", "Chain": "multi", "Threshold": "binary", "Isotonic": "1d",
                "RANSAC": "reg"}


# Whole families of small internal classes (losses, links, distance metrics, neighbor trees) whose variants
# depend on hyper-parameters: every class of these modules, with the usage its pickles show.
FAMILIES = {
    "sklearn._loss.loss": {"new"}, "sklearn._loss.link": {"new"}, "sklearn._loss._loss": {"call"},
    "sklearn.linear_model._sgd_fast": {"call"}, "sklearn.metrics._dist_metrics": {"value"},
    "sklearn.neighbors._ball_tree": {"value"}, "sklearn.neighbors._kd_tree": {"value"},
}


# Cython's generated unpicklers set C-level fields (sizes next to buffers) from the file without checking them;
# these classes pickle through newObj + __setstate__ instead, so their raw setters are never needed.
CYTHON_STATE_SETTERS = {"__pyx_unpickle_DistanceMetric"}


def _families() -> dict[tuple[str, str], set[str]]:
    import importlib

    found = {}
    for module_name, usage in FAMILIES.items():
        module = importlib.import_module(module_name)
        for name in dir(module):
            obj = getattr(module, name)
            if isinstance(obj, type) and obj.__module__ == module_name and not name.startswith("_"):
                found[(module_name, name)] = set(usage)
            elif (name.startswith("__pyx_unpickle_") or name == "newObj") and name not in CYTHON_STATE_SETTERS:
                found[(module_name, name)] = {"call"}
    return found


def _ufuncs() -> dict[tuple[str, str], set[str]]:
    # Every numpy ufunc is pure arithmetic on its arguments: safe for FunctionTransformer(func=...).
    found = {}
    for name in dir(np):
        if isinstance(getattr(np, name), np.ufunc):
            found[("numpy", name)] = {"value"}
    for name in SCALAR_TYPES:
        found[("numpy", name)] = {"value"}
    return found


def _data() -> dict[str, Any]:
    import pandas as pd
    from sklearn.datasets import make_classification, make_regression

    Xc, yc = make_classification(n_samples=80, n_features=6, n_informative=4, n_classes=3, random_state=0)
    Xr, yr = make_regression(n_samples=80, n_features=6, random_state=0)
    frame = pd.DataFrame(np.abs(Xc), columns=[f"x{i}" for i in range(6)])
    frame["color"] = np.array(["red", "green", "blue", "red"] * 20)
    return {"Xc": np.abs(Xc), "yc": yc, "ylab": np.array(["a", "b", "c"])[yc], "Xr": Xr, "yr": yr, "frame": frame}


def _instances() -> list[tuple[str, Any, str]]:
    """(label, unfitted estimator, data kind) for every estimator kind the allowlist must cover."""
    from sklearn.base import ClassifierMixin, RegressorMixin
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
    from sklearn.ensemble import (
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
        StackingClassifier,
        StackingRegressor,
        VotingClassifier,
        VotingRegressor,
    )
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
    from sklearn.pipeline import FeatureUnion, Pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler
    from sklearn.tree import DecisionTreeClassifier
    from sklearn.utils import all_estimators

    found = []
    for name, cls in all_estimators():
        kind = "clf" if issubclass(cls, ClassifierMixin) else "reg" if issubclass(cls, RegressorMixin) else "clf"
        kind = next((k for part, k in SPECIAL_DATA.items() if part in name), kind)
        try:
            found.append((name, cls(), kind))
        except TypeError:
            pass  # meta-estimators that need an estimator: built below
    lr, tree, ridge = LogisticRegression(max_iter=300), DecisionTreeClassifier(max_depth=3), Ridge()
    ct = ColumnTransformer([("num", StandardScaler(), [f"x{i}" for i in range(6)]),
                            ("cat", OneHotEncoder(handle_unknown="ignore"), ["color"])])
    ordinal = ColumnTransformer([("cat", OrdinalEncoder(), ["color"])], remainder="passthrough")
    found += [
        ("pipeline_ct", Pipeline([("prep", ct), ("model", lr)]), "frame"),
        ("pipeline_ordinal_hgb", Pipeline([("prep", ordinal), ("model", HistGradientBoostingClassifier(max_iter=5))]),
         "frame"),
        ("hgb_categorical", HistGradientBoostingClassifier(max_iter=5, categorical_features=["color"]), "frame_cat"),
        ("hgb_reg_early", HistGradientBoostingRegressor(max_iter=30, early_stopping=True, n_iter_no_change=2), "reg"),
        ("function_transformer", Pipeline([("log", FunctionTransformer(np.log1p, inverse_func=np.expm1)),
                                           ("model", lr)]), "clf"),
        ("feature_union", Pipeline([("u", FeatureUnion([("a", StandardScaler()), ("b", "passthrough")])),
                                    ("m", lr)]), "clf"),
        ("grid", GridSearchCV(lr, {"C": [0.1, 1.0]}, cv=2), "clf"),
        ("random_search", RandomizedSearchCV(tree, {"max_depth": [2, 3]}, n_iter=2, cv=2, random_state=0), "clf"),
        ("calibrated", CalibratedClassifierCV(lr, cv=2), "clf"),
        ("calibrated_iso", CalibratedClassifierCV(tree, cv=2, method="isotonic"), "clf"),
        ("stacking", StackingClassifier([("lr", lr), ("tree", tree)], cv=2), "clf"),
        ("stacking_reg", StackingRegressor([("ridge", ridge), ("t", HistGradientBoostingRegressor(max_iter=3))], cv=2),
         "reg"),
        ("voting_soft", VotingClassifier([("lr", lr), ("tree", tree)], voting="soft"), "clf"),
        ("voting_reg", VotingRegressor([("r", ridge)]), "reg"),
        ("ttr", TransformedTargetRegressor(ridge, func=np.log1p, inverse_func=np.expm1), "reg_pos"),
        ("labels", LogisticRegression(max_iter=300), "labels"),
    ]
    for extra in (_xgb_lgbm, _meta_defaults):
        found += extra(lr, ridge)
    from sklearn.base import clone

    # Binary problems pickle other internals (losses, links) than multi-class ones.
    found += [(label + "_binary", clone(est), "binary") for label, est, kind in found if kind == "clf"]
    return found


def _meta_defaults(lr: Any, ridge: Any) -> list[tuple[str, Any, str]]:
    from sklearn.base import ClassifierMixin
    from sklearn.utils import all_estimators

    out = []
    for name, cls in all_estimators():
        for arg in ("estimator", "base_estimator"):
            try:
                est = cls(**{arg: lr if issubclass(cls, ClassifierMixin) else ridge})
            except TypeError:
                continue
            kind = "clf" if issubclass(cls, ClassifierMixin) else "reg"
            out.append((name + "_meta", est, next((k for part, k in SPECIAL_DATA.items() if part in name), kind)))
            break
    return out


def _xgb_lgbm(lr: Any, ridge: Any) -> list[tuple[str, Any, str]]:
    import lightgbm
    import xgboost

    return [
        ("xgb_clf", xgboost.XGBClassifier(n_estimators=5, max_depth=2), "clf"),
        ("xgb_reg", xgboost.XGBRegressor(n_estimators=5, max_depth=2), "reg"),
        ("lgbm_clf", lightgbm.LGBMClassifier(n_estimators=5, verbose=-1), "clf"),
        ("lgbm_reg", lightgbm.LGBMRegressor(n_estimators=5, verbose=-1), "reg"),
    ]


def _fit(est: Any, kind: str, data: dict[str, Any]) -> Any:
    if kind == "frame":
        return est.fit(data["frame"], data["yc"])
    if kind == "frame_cat":
        return est.fit(data["frame"].astype({"color": "category"}), data["yc"])
    if kind == "multi":
        return est.fit(data["Xr"], np.c_[data["yr"], data["yr"] ** 2] if "Classif" not in type(est).__name__
                       else np.c_[data["yc"], data["yc"] % 2])
    if kind == "binary":
        return est.fit(data["Xc"], data["yc"] % 2)
    if kind == "1d":
        return est.fit(data["Xr"][:, 0], data["yr"])
    if kind == "labels":
        return est.fit(data["Xc"], data["ylab"])
    if kind in ("reg", "reg_pos"):
        y = np.abs(data["yr"]) if kind == "reg_pos" else data["yr"]
        return est.fit(data["Xr"], y)
    return est.fit(data["Xc"], data["yc"])


def _skops_types(fitted: Any) -> dict[tuple[str, str], set[str]]:
    import skops.io

    from modelwatch.core.intake.skops_reader import BASIC_TYPES, schema_types

    try:
        blob = skops.io.dumps(fitted)
    except Exception:  # skops cannot persist every object (e.g. native boosters): then it is pickle-only
        return {}
    found, _ = schema_types(blob)
    return {key: used for key, used in found.items() if key not in BASIC_TYPES}


def generate() -> dict[str, Any]:
    """Fit, pickle and walk every estimator kind; return the allowlist document."""
    import joblib

    data = _data()
    usages: dict[tuple[str, str], set[str]] = {k: set(v) for k, v in {**CURATED, **_ufuncs(), **_families()}.items()}
    skipped = []
    for label, est, kind in _instances():
        # Unfitted classes are allowed too: a file may hold any estimator that predicts.
        usages.setdefault((type(est).__module__, type(est).__qualname__), set()).add("new")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                fitted = _fit(est, kind, data)
            except Exception as exc:  # an estimator that cannot fit this data: reviewed in the output
                skipped.append(f"{label}: {type(exc).__name__}")
                continue
        blobs = [pickle.dumps(fitted, protocol=p) for p in range(6)]
        buffer = io.BytesIO()
        joblib.dump(fitted, buffer)
        blobs.append(buffer.getvalue())
        for blob in blobs:
            for key, used in walk_pickle(blob, ScanLimits(max_array_bytes=1 << 34, max_opcodes=1 << 40)).usages.items():
                usages.setdefault(key, set()).update(used)
        for key, used in _skops_types(fitted).items():
            usages.setdefault(key, set()).update(used)
    for key in GUARDED:
        usages.pop(key, None)
    bad = sorted(f"{m}.{n}" for (m, n) in usages if is_never(m, n) or "." in n)
    if bad:
        raise SystemExit(f"refusing to write an allowlist holding never-allowed globals: {bad}")
    entries: dict[str, dict[str, list[str]]] = {}
    for (module, name), used in sorted(usages.items()):
        entries.setdefault(module, {})[name] = sorted(used)
    versions = {pkg: version(pkg) for pkg in ("scikit-learn", "numpy", "scipy", "xgboost-cpu", "lightgbm", "joblib")}
    return {"generated_for": {"python": f"{sys.version_info.major}.{sys.version_info.minor}", **versions},
            "note": "Generated by modelwatch.core.intake.build_allowlist; reviewed. Exact (module, name) pairs; "
                    "usage: new = instantiated, call = called by REDUCE with arguments, value = referenced only.",
            "skipped_while_generating": skipped, "entries": entries}


def verify() -> list[tuple[str, str, str]]:
    """Save every fitted estimator in every format, load it the way the sandbox does, compare predictions.

    Returns:
        ``(label, format, problem)`` for each file that failed; empty when the allowlist covers them all.
    """
    import joblib
    import skops.io

    from modelwatch.core.intake import scan
    from modelwatch.core.intake.allowlist import load_allowlist
    from modelwatch.core.intake.formats import decompress, sniff_format
    from modelwatch.core.intake.skops_reader import load_skops
    from modelwatch.core.intake.unpickler import restricted_loads
    from modelwatch.core.intake.validate import validate_model

    data, failures, allowlist = _data(), [], load_allowlist()
    inputs = {"frame": data["frame"], "frame_cat": data["frame"].astype({"color": "category"}), "reg": data["Xr"],
              "reg_pos": data["Xr"], "multi": data["Xr"], "1d": data["Xr"][:, 0]}
    for label, est, kind in _instances():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                fitted = _fit(est, kind, data)
                X = inputs.get(kind, data["Xc"])
                expected = fitted.predict(X)
            except Exception:  # not a predictor, or not fittable on this data (listed by generate)
                continue
            blobs = {f"pickle{p}": pickle.dumps(fitted, protocol=p) for p in range(6)}
            for compress in (0, "zlib", "gzip", "bz2", "xz", "lz4"):
                buffer = io.BytesIO()
                joblib.dump(fitted, buffer, compress=(compress, 3) if compress else 0)
                blobs[f"joblib-{compress or 'plain'}"] = buffer.getvalue()
            try:
                blobs["skops"] = skops.io.dumps(fitted)
            except Exception:
                pass
            for how, blob in blobs.items():
                try:
                    fmt = sniff_format(blob)
                    scan(blob, fmt)
                    model = (load_skops(blob, allowlist) if fmt == "skops"
                             else restricted_loads(decompress(blob, fmt), allowlist))
                    validate_model(model)  # the structural checks never refuse a genuine estimator
                    if not np.array_equal(np.asarray(model.predict(X)), np.asarray(expected)):
                        failures.append((label, how, "predictions differ"))
                except Exception as exc:
                    failures.append((label, how, f"{type(exc).__name__}: {exc}"[:200]))
    return failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare with the committed file instead of writing")
    parser.add_argument("--verify", action="store_true",
                        help="load every estimator in every format through the intake and compare predictions")
    args = parser.parse_args()
    if args.verify:
        failures = verify()
        for failure in failures:
            print(*failure, sep="  ")
        print(f"{len(failures)} failure(s)")
        raise SystemExit(1 if failures else 0)
    document = generate()
    text = json.dumps(document, indent=1, sort_keys=False) + "\n"
    if args.check:
        same = ALLOWLIST_PATH.exists() and json.loads(ALLOWLIST_PATH.read_text())["entries"] == document["entries"]
        print("allowlist up to date" if same else "allowlist differs from a fresh generation")
        raise SystemExit(0 if same else 1)
    ALLOWLIST_PATH.write_text(text)
    n = sum(len(v) for v in document["entries"].values())
    print(f"wrote {ALLOWLIST_PATH} with {n} entries; skipped {len(document['skipped_while_generating'])}")


if __name__ == "__main__":
    main()
