"""Reading an objective's source: fingerprint, similarity, estimators, families and parameter roles."""

from __future__ import annotations

import functools
import json
import math
import subprocess
import sys
import textwrap

import pytest

from helpers.cells import run_cell
from jupyter_metahpo.meta.source import (
    MAX_SHINGLES,
    FixedSetting,
    ObjectiveSource,
    ParameterRole,
    describe_objective,
    source_similarity,
)


def code(text: str) -> str:
    return textwrap.dedent(text).strip("\n") + "\n"


# The random forest cell of issue 18, as a user writes it.
RF_CELL = code(
    '''
    space = {
        "n_estimators": intrange(50, 500, log=True),
        "max_depth": intrange(2, 32),
        "min_samples_leaf": intrange(1, 20),
        "max_features": choice("sqrt", "log2", None),
    }

    def objective(n_estimators, max_depth, min_samples_leaf, max_features):
        """Cross-validated accuracy of a random forest."""
        model = RandomForestClassifier(
            n_estimators=n_estimators,
            max_depth=max_depth,
            min_samples_leaf=min_samples_leaf,
            max_features=max_features,
            random_state=0,
            n_jobs=-1,
        )
        return cross_val_score(model, X, y, cv=5, scoring="accuracy").mean()
    '''
)
RF_NAMES = ["n_estimators", "max_depth", "min_samples_leaf", "max_features"]

# The same code: other names (parameters, locals, function), layout, comments, literals.
RF_RENAMED = code(
    """
    def rf_score(trees, depth, leaf, feats):
        # a forest, scored by 3-fold CV
        clf = RandomForestClassifier(n_estimators=trees, max_depth=depth, min_samples_leaf=leaf,
                                     max_features=feats, random_state=42, n_jobs=4)  # all cores
        return cross_val_score(clf, X, y, cv=3, scoring='accuracy').mean()
    """
)
RF_RENAMED_NAMES = ["trees", "depth", "leaf", "feats"]

# Other code around the same estimator: another split, another score, one more argument.
RF_VARIANT = code(
    """
    def objective(n_estimators, max_depth, min_samples_leaf, max_features):
        model = RandomForestClassifier(n_estimators=n_estimators, max_depth=max_depth,
            min_samples_leaf=min_samples_leaf, max_features=max_features, class_weight="balanced")
        scores = cross_val_score(model, X_train, y_train, cv=StratifiedKFold(5), scoring="roc_auc")
        return scores.mean()
    """
)

QUADRATIC = code(
    """
    def f(x):
        return (x - 2) ** 2
    """
)

TORCH_LOOP = code(
    '''
    def train_mlp(learning_rate, weight_decay, batch_size, hidden_width, dropout, epochs):
        """Validation accuracy of an MLP trained with AdamW."""
        torch.manual_seed(0)
        model = nn.Sequential(
            nn.Linear(X_train.shape[1], hidden_width),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden_width, hidden_width),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden_width, n_classes),
        )
        optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=weight_decay)
        loader = DataLoader(TensorDataset(X_train, y_train), batch_size=batch_size, shuffle=True)
        loss_fn = nn.CrossEntropyLoss()
        for epoch in range(epochs):
            model.train()
            for xb, yb in loader:
                optimizer.zero_grad()
                loss = loss_fn(model(xb), yb)
                loss.backward()
                optimizer.step()
        model.eval()
        with torch.no_grad():
            predicted = model(X_val).argmax(dim=1)
        return (predicted == y_val).float().mean().item()
    '''
)
TORCH_NAMES = ["learning_rate", "weight_decay", "batch_size", "hidden_width", "dropout", "epochs"]

TORCH_LOOP_RENAMED = code(
    """
    def train(lr, wd, bs, hidden, p_drop, n_epochs):
        torch.manual_seed(1)
        net = nn.Sequential(
            nn.Linear(X_train.shape[1], hidden), nn.ReLU(), nn.Dropout(p_drop),
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(p_drop),
            nn.Linear(hidden, n_classes),
        )
        opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=wd)
        dl = DataLoader(TensorDataset(X_train, y_train), batch_size=bs, shuffle=True)
        criterion = nn.CrossEntropyLoss()
        for ep in range(n_epochs):
            net.train()
            for a, b in dl:
                opt.zero_grad()
                l = criterion(net(a), b)
                l.backward()
                opt.step()
        net.eval()
        with torch.no_grad():
            pred = net(X_val).argmax(dim=1)
        return (pred == y_val).float().mean().item()
    """
)
TORCH_RENAMED_NAMES = ["lr", "wd", "bs", "hidden", "p_drop", "n_epochs"]


def roles(source: ObjectiveSource) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for role in source.roles:
        found.setdefault(role.parameter, set()).add(role.role)
    return found


def describe(text: str, names: list[str]) -> ObjectiveSource:
    source = describe_objective(text, names)
    assert source is not None
    return source


def function_from(text: str, filename: str, name: str):
    """Define ``name`` from ``text`` as IPython does: compiled under ``filename``, its lines in linecache."""
    return run_cell(text, filename, {})[name]


# The random forest cell ------------------------------------------------------------


def test_random_forest_cell_names_its_estimator_family_and_the_four_roles():
    source = describe(RF_CELL, RF_NAMES)
    assert source.estimators == ("RandomForestClassifier",)
    assert source.families == ("random_forest",)
    assert roles(source) == {name: {name} for name in RF_NAMES}
    assert {r.target for r in source.roles} == {"RandomForestClassifier"}
    assert all(r.direct for r in source.roles)


def test_renamed_reformatted_commented_copy_has_the_same_fingerprint_and_maps_each_name():
    original, renamed = describe(RF_CELL, RF_NAMES), describe(RF_RENAMED, RF_RENAMED_NAMES)
    assert renamed.fingerprint == original.fingerprint
    assert source_similarity(original, renamed) == 1.0
    assert roles(renamed) == {
        "trees": {"n_estimators"},
        "depth": {"max_depth"},
        "leaf": {"min_samples_leaf"},
        "feats": {"max_features"},
    }


def test_parameters_listed_in_another_order_read_the_same():
    reordered = RF_RENAMED.replace("def rf_score(trees, depth, leaf, feats)", "def rf_score(feats, leaf, trees, depth)")
    assert reordered != RF_RENAMED
    assert describe(reordered, RF_RENAMED_NAMES).fingerprint == describe(RF_RENAMED, RF_RENAMED_NAMES).fingerprint


def test_other_code_around_the_same_estimator_is_similar_but_not_the_same():
    original, variant = describe(RF_CELL, RF_NAMES), describe(RF_VARIANT, RF_NAMES)
    assert variant.fingerprint != original.fingerprint
    assert 0.3 < source_similarity(original, variant) < 0.9
    assert variant.estimators == original.estimators


def test_unrelated_objectives_are_dissimilar():
    forest, quadratic = describe(RF_CELL, RF_NAMES), describe(QUADRATIC, ["x"])
    torch_loop = describe(TORCH_LOOP, TORCH_NAMES)
    assert source_similarity(forest, quadratic) < 0.2
    assert source_similarity(quadratic, forest) == source_similarity(forest, quadratic)
    assert source_similarity(forest, torch_loop) < 0.2
    assert quadratic.estimators == () and quadratic.families == () and quadratic.roles == ()


# PyTorch training loops -------------------------------------------------------------


def test_torch_loop_is_a_torch_mlp_and_each_parameter_has_its_role():
    source = describe(TORCH_LOOP, TORCH_NAMES)
    assert source.families == ("torch_mlp",)
    assert source.estimators == ()
    assert roles(source) == {
        "learning_rate": {"learning_rate"},
        "weight_decay": {"weight_decay"},
        "batch_size": {"batch_size"},
        "hidden_width": {"hidden_width"},
        "dropout": {"dropout"},
        "epochs": {"max_epochs"},
    }
    by_role = {r.role: r for r in source.roles}
    assert (by_role["learning_rate"].target, by_role["learning_rate"].argument) == ("torch.optim.AdamW", "lr")
    assert by_role["hidden_width"].argument == "out_features"


def test_torch_loop_with_short_names_reads_the_same_roles_and_code():
    original, renamed = describe(TORCH_LOOP, TORCH_NAMES), describe(TORCH_LOOP_RENAMED, TORCH_RENAMED_NAMES)
    assert source_similarity(original, renamed) >= 0.95
    assert roles(renamed) == {
        "lr": {"learning_rate"},
        "wd": {"weight_decay"},
        "bs": {"batch_size"},
        "hidden": {"hidden_width"},
        "p_drop": {"dropout"},
        "n_epochs": {"max_epochs"},
    }


def test_layers_built_in_a_loop_count_as_hidden_layers_and_a_range_step_as_the_batch_size():
    text = code(
        """
        def objective(lr, hidden, n_layers, bs):
            layers = [nn.Linear(n_features, hidden), nn.ReLU()]
            for _ in range(n_layers):
                layers.append(nn.Linear(hidden, hidden))
                layers.append(nn.ReLU())
            model = nn.Sequential(*layers, nn.Linear(hidden, 1))
            opt = optim.Adam(model.parameters(), lr)
            for _ in range(20):
                for i in range(0, len(X), bs):
                    opt.zero_grad()
                    F.mse_loss(model(X[i:i + bs]), y[i:i + bs]).backward()
                    opt.step()
        """
    )
    source = describe(text, ["lr", "hidden", "n_layers", "bs"])
    assert roles(source) == {
        "lr": {"learning_rate"},
        "hidden": {"hidden_width"},
        "n_layers": {"n_hidden_layers"},
        "bs": {"batch_size"},
    }
    assert source.families == ("torch_mlp",)


def test_a_convolutional_net_is_not_the_torch_mlp_family():
    text = code(
        """
        def objective(channels, lr):
            model = nn.Sequential(nn.Conv2d(1, channels, 3), nn.ReLU(), nn.Flatten(), nn.Linear(channels * 36, 10))
            optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        """
    )
    source = describe(text, ["channels", "lr"])
    assert source.families == ()
    assert roles(source) == {"lr": {"learning_rate"}}


# Other ways of passing parameters -----------------------------------------------------


def test_config_lookups_and_unpacked_dicts_are_read():
    text = code(
        """
        def objective(config):
            depth = int(config["depth"])
            params = dict(max_depth=depth, learning_rate=10 ** config["log_lr"])
            params["max_iter"] = config.get("iters", 100)
            return HistGradientBoostingRegressor(**params)
        """
    )
    source = describe(text, ["depth", "log_lr", "iters"])
    assert source.families == ("hgb",)
    assert roles(source) == {"depth": {"max_depth"}, "log_lr": {"learning_rate"}, "iters": {"max_iter"}}
    direct = {r.parameter: r.direct for r in source.roles}
    assert direct == {"depth": True, "log_lr": False, "iters": True}


def test_a_parameter_rebound_in_the_body_is_direct_only_when_cast():
    text = code(
        """
        def objective(max_depth, lr):
            max_depth = int(max_depth)
            lr = 10 ** lr
            return HistGradientBoostingClassifier(max_depth=max_depth, learning_rate=lr)
        """
    )
    source = describe(text, ["max_depth", "lr"])
    assert [(r.parameter, r.role, r.direct) for r in source.roles] == [
        ("max_depth", "max_depth", True),
        ("lr", "learning_rate", False),
    ]


def test_unpacking_the_objectives_config_names_the_parameters_the_estimator_takes():
    text = code(
        """
        def objective(config):
            return RandomForestRegressor(**config, **FIXED)
        """
    )
    source = describe(text, ["n_estimators", "max_depth", "width"])
    assert roles(source) == {"n_estimators": {"n_estimators"}, "max_depth": {"max_depth"}}


def test_a_global_dict_of_fixed_settings_gives_no_roles():
    source = describe("def f(n):\n    return RandomForestClassifier(**FIXED)\n", ["max_depth", "n"])
    assert source.estimators == ("RandomForestClassifier",)
    assert source.roles == ()


def test_mlp_hidden_layer_sizes_give_the_built_in_width_and_depth():
    text = code(
        """
        def objective(width, layers, lr, schedule):
            return MLPClassifier(hidden_layer_sizes=(width,) * layers, learning_rate_init=lr, learning_rate=schedule)
        """
    )
    source = describe(text, ["width", "layers", "lr", "schedule"])
    assert source.families == ("mlp",)
    # scikit-learn's MLP `learning_rate` is a schedule, not a step size.
    assert roles(source) == {
        "width": {"hidden_layer_width"},
        "layers": {"n_hidden_layers"},
        "lr": {"learning_rate_init"},
        "schedule": {"learning_rate_schedule"},
    }


def test_layers_of_one_tuned_width_fix_the_number_of_layers_they_write():
    def read(layers):
        cell = f"def f(h, n, alpha):\n    return MLPClassifier(hidden_layer_sizes={layers}, alpha=alpha)\n"
        source = describe(cell, ["h", "n", "alpha"])
        fixed = {role: setting.value for role, setting in source.fixed().items() if "hidden" in role}
        return {p: r for p, r in roles(source).items() if p != "alpha"}, fixed

    width = {"h": {"hidden_layer_width"}}
    assert read("(h,)") == (width, {"n_hidden_layers": 1})  # one layer of a tuned width
    assert read("[h, h]") == (width, {"n_hidden_layers": 2})
    assert read("(h, h) * 2") == (width, {"n_hidden_layers": 4})  # not 2: the count repeats two layers
    assert read("(h, h) * n") == (width, {})  # n is not the number of layers (2n are)
    assert read("(h,) * n") == ({**width, "n": {"n_hidden_layers"}}, {})
    assert read("[64] * n") == ({"n": {"n_hidden_layers"}}, {"hidden_layer_width": 64})
    # Layers of several widths: their geometric mean width, as matching reads a choice's option (128, 32).
    assert read("(128, 32)") == ({}, {"hidden_layer_width": 64, "n_hidden_layers": 2})
    assert read("(h, 32)") == ({}, {})  # a tuned width beside a literal one: neither is the prior's width


def test_other_libraries_estimators_use_the_built_in_names_for_the_same_meaning():
    text = code(
        """
        def objective(eta, leaves, split):
            if flavour == "xgb":
                return XGBClassifier(eta=eta, gamma=split)
            return lightgbm.LGBMClassifier(num_leaves=leaves)
        """
    )
    source = describe(text, ["eta", "leaves", "split"])
    assert source.estimators == ("XGBClassifier", "LGBMClassifier")
    assert source.families == ("hgb",)  # LightGBM and XGBoost count as HGB's algorithm (source._SAME_ALGORITHM)
    assert roles(source) == {"eta": {"learning_rate"}, "leaves": {"max_leaf_nodes"}, "split": {"min_split_loss"}}


def test_catboost_counts_as_the_hgb_family_and_its_leaf_l2_is_hgbs_l2_regularization():
    # Measured before it shipped: bench_optuna_style.py --cells catboost (README, "Objectives written for Optuna").
    source = describe(code(
        """
        def objective(lr, depth, l2, rounds):
            return score(CatBoostRegressor(learning_rate=lr, depth=depth, l2_leaf_reg=l2, iterations=rounds))
        """
    ), ["lr", "depth", "l2", "rounds"])
    assert source.families == ("hgb",)
    assert roles(source) == {"lr": {"learning_rate"}, "depth": {"max_depth"}, "l2": {"l2_regularization"},
                             "rounds": {"max_iter"}}


def test_extra_trees_count_as_the_random_forest_family_and_run_without_bootstrap():
    # Measured before it shipped: bench_optuna_style.py --cells extra_trees (README, "Objectives written for Optuna").
    pytest.importorskip("sklearn.ensemble")  # the left-out defaults are read from the imported class
    source = describe(code(
        """
        def objective(trees, leaf, features):
            return score(ExtraTreesClassifier(n_estimators=trees, min_samples_leaf=leaf, max_features=features))
        """
    ), ["trees", "leaf", "features"])
    assert source.families == ("random_forest",)
    assert roles(source) == {"trees": {"n_estimators"}, "leaf": {"min_samples_leaf"}, "features": {"max_features"}}
    # Its default: extremely randomised trees draw no bootstrap sample (the forest's prior varied it).
    assert FixedSetting("ExtraTreesClassifier", "bootstrap", "bootstrap", False, default=True) in source.settings


def test_an_estimator_inside_a_pipeline_and_under_a_module_prefix_is_found():
    text = "def f(C, g):\n    return make_pipeline(StandardScaler(), svm.SVC(C=C, gamma=float(g)))\n"
    source = describe(text, ["C", "g"])
    assert source.estimators == ("SVC",) and source.families == ("svm",)
    assert source.roles == (ParameterRole("C", "SVC", "C", "C"), ParameterRole("g", "SVC", "gamma", "gamma"))


# Where the source comes from -----------------------------------------------------------


def test_a_builtin_or_code_without_source_gives_none():
    assert describe_objective(len, ["x"]) is None
    assert describe_objective(math.sqrt, ["x"]) is None
    namespace: dict = {}
    exec("g = lambda x: x ** 2\ndef h(x):\n    return x ** 2\n", namespace)  # noqa: S102 - no linecache entry
    assert describe_objective(namespace["g"], ["x"]) is None
    assert describe_objective(namespace["h"], ["x"]) is None
    assert describe_objective("def broken(:\n", ["x"]) is None


def test_a_lambda_with_source_reads_like_the_same_function():
    objective = lambda x: (x - 2) ** 2  # noqa: E731 - the lambda is the point
    source = describe_objective(objective, ["x"])
    assert source is not None
    assert source.fingerprint == describe(QUADRATIC, ["x"]).fingerprint


def test_a_function_registered_in_linecache_is_read():
    function = function_from(RF_RENAMED, "<ipython-input-7-0123456789ab>", "rf_score")
    source = describe_objective(function, RF_RENAMED_NAMES)
    assert source is not None
    assert source.fingerprint == describe(RF_CELL, RF_NAMES).fingerprint
    assert roles(source)["depth"] == {"max_depth"}


def test_a_function_defined_in_an_ipython_cell_is_read():
    from IPython.testing.globalipapp import get_ipython

    shell = get_ipython()
    # A magic line, as cells have: IPython compiles (and caches) the transformed code.
    cell = "names_before = %who_ls\nintrange = choice = lambda *a, **k: None\n" + RF_CELL
    try:
        assert shell.run_cell(cell).success
        source = describe_objective(shell.user_ns["objective"], RF_NAMES)
    finally:
        for name in ("objective", "space", "intrange", "choice", "names_before"):
            shell.user_ns.pop(name, None)
    assert source is not None
    assert source.fingerprint == describe(RF_CELL, RF_NAMES).fingerprint


def test_partials_bound_methods_and_callable_objects_read_their_function():
    def scored(max_depth, data=None):
        return DecisionTreeClassifier(max_depth=max_depth)  # noqa: F821 - only read, never run

    class Objective:
        def __call__(self, max_depth):
            return DecisionTreeClassifier(max_depth=max_depth)  # noqa: F821

        def method(self, max_depth):
            return DecisionTreeClassifier(max_depth=max_depth)  # noqa: F821

    for objective in (functools.partial(scored, data=1), Objective(), Objective().method):
        source = describe_objective(objective, ["max_depth"])
        assert source is not None, objective
        assert roles(source) == {"max_depth": {"max_depth"}}


def test_cell_text_picks_the_function_taking_the_space_and_skips_ipython_lines():
    cell = code(
        """
        %matplotlib inline
        def helper(a):
            return a + 1

        def score(depth):
            return cross_val_score(DecisionTreeClassifier(max_depth=helper(depth)), X, y).mean()
        """
    )
    source = describe(cell, ["depth"])
    assert roles(source) == {"depth": {"max_depth"}}
    assert source.fingerprint == describe(cell.replace("%matplotlib inline\n", ""), ["depth"]).fingerprint
    two_parameters = cell.replace("def score(depth)", "def score(depth, extra)")
    assert source.fingerprint != describe(two_parameters, ["depth"]).fingerprint


def test_code_without_a_function_is_read_as_the_objectives_body():
    source = describe("score = cross_val_score(SVC(C=C), X, y).mean()\n", ["C"])
    assert source.estimators == ("SVC",)
    assert roles(source) == {"C": {"C"}}


def test_bad_arguments_say_what_to_pass():
    with pytest.raises(TypeError, match="objective must be a function or its source text"):
        describe_objective(3, ["x"])
    with pytest.raises(TypeError, match="parameter_names must be the search space's names"):
        describe_objective(QUADRATIC, "x")
    with pytest.raises(TypeError, match="must be strings"):
        describe_objective(QUADRATIC, ["x", 2])


# Storing and comparing --------------------------------------------------------------------


def test_json_round_trip_is_exact_and_small():
    source = describe(TORCH_LOOP, TORCH_NAMES)
    data = json.loads(json.dumps(source.to_json()))
    assert ObjectiveSource.from_json(data) == source
    assert len(json.dumps(source.to_json())) < 8_000


def test_json_of_another_format_or_shape_is_refused_with_the_fix():
    data = describe(QUADRATIC, ["x"]).to_json()
    with pytest.raises(ValueError, match="describe the objective again"):
        ObjectiveSource.from_json({**data, "format": 0})
    with pytest.raises(ValueError, match="needs the keys"):
        ObjectiveSource.from_json({k: v for k, v in data.items() if k != "shingles"})
    with pytest.raises(TypeError, match="must be a mapping"):
        ObjectiveSource.from_json([data])


def test_a_long_objective_keeps_a_capped_sketch_that_still_compares():
    lines = [f"    a{i} = model_{i}.fit(X[{i}], y).score(X_{i}, y_{i}) + helper_{i}(a{i - 1})" for i in range(1, 120)]
    long = "def objective(x):\n    a0 = x\n" + "\n".join(lines) + "\n    return a119\n"
    edited = long
    for i in range(60, 70):  # ten lines of 120 changed
        edited = edited.replace(f"helper_{i}(", "other_helper(")
    first, second = describe(long, ["x"]), describe(edited, ["x"])
    assert len(first.shingles) == MAX_SHINGLES
    assert first.fingerprint != second.fingerprint
    assert 0.8 < source_similarity(first, second) < 1.0
    assert source_similarity(first, describe(QUADRATIC, ["x"])) < 0.05
    assert len(json.dumps(first.to_json())) < 8_000


def test_importing_the_module_loads_neither_torch_nor_scikit_learn():
    check = "import sys, jupyter_metahpo.meta.source; print(sorted({'torch', 'sklearn'} & set(sys.modules)))"
    output = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"


def test_signatures_alone_do_not_make_functions_alike():
    # After renaming, every five-parameter signature reads the same; only the bodies should count.
    summing = describe("def f(a, b, c, d, e):\n    return a + b * c - d / e\n", ["a", "b", "c", "d", "e"])
    forest = describe("def g(a, b, c, d, e):\n    return RandomForestClassifier(max_depth=a).fit(X, y)\n", ["a"])
    assert source_similarity(summing, forest) < 0.2


# What the objective fixes instead of tuning ------------------------------------------


def test_literal_arguments_of_known_calls_are_fixed_settings():
    cell = textwrap.dedent('''
        def train(C, gamma):
            model = make_pipeline(StandardScaler(), SVC(kernel="rbf", C=C, gamma=gamma, class_weight=None))
            return cross_val_score(model, X, y).mean()
    ''')
    source = describe_objective(cell, ["C", "gamma"])
    assert source.fixed()["class_weight"].value is None
    assert source.fixed()["kernel"].value == "rbf"
    assert "C" not in source.fixed() and "gamma" not in source.fixed()  # tuned, not fixed
    assert source.fixed()["class_weight"].describe() == "class_weight=None"


def test_torch_loop_fixes_its_literal_epochs_batch_size_and_weight_decay():
    cell = textwrap.dedent('''
        def train(lr, hidden):
            model = nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, n_out))
            opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
            loader = DataLoader(data, batch_size=64, shuffle=True)
            for epoch in range(20):
                for xb, yb in loader:
                    opt.zero_grad(); loss_fn(model(xb), yb).backward(); opt.step()
    ''')
    fixed = {role: s.value for role, s in describe_objective(cell, ["lr", "hidden"]).fixed().items()}
    assert fixed == {"weight_decay": 0.0, "batch_size": 64, "max_epochs": 20}


def test_a_role_given_two_literals_or_also_tuned_is_not_fixed():
    cell = textwrap.dedent('''
        def train(lr):
            first = torch.optim.SGD(params, lr=lr, momentum=0.9)
            second = torch.optim.SGD(params, lr=0.1, momentum=0.5)
    ''')
    assert describe_objective(cell, ["lr"]).fixed() == {}


def test_left_out_arguments_take_the_library_default_only_when_its_module_is_imported():
    cell = "def f(max_features): return RandomForestClassifier(max_features=max_features, n_jobs=-1)"
    code = (
        "import sys, json\n"
        "from jupyter_metahpo.meta.source import describe_objective\n"
        f"before = describe_objective({cell!r}, ['max_features']).fixed()\n"
        "assert 'sklearn' not in sys.modules, 'reading a source imported scikit-learn'\n"
        "import sklearn.ensemble\n"
        f"after = describe_objective({cell!r}, ['max_features']).fixed()\n"
        "print(json.dumps([sorted(before), {k: [v.value, v.default] for k, v in after.items()}]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    before, after = json.loads(out)
    assert before == ["n_jobs"]
    assert after["n_estimators"] == [100, True] and after["bootstrap"] == [True, True]
    assert after["n_jobs"] == [-1, False]


def test_left_out_mlp_layer_sizes_are_the_library_default_width_and_depth():
    left_out = "def f(alpha): return MLPClassifier(alpha=alpha, early_stopping=True)"
    tuned = "def f(alpha, sizes): return MLPClassifier(alpha=alpha, hidden_layer_sizes=sizes)"
    code = (
        "import json\n"
        "from jupyter_metahpo.meta.source import describe_objective\n"
        f"before = describe_objective({left_out!r}, ['alpha']).fixed()\n"
        "import sklearn.neural_network\n"
        f"after = describe_objective({left_out!r}, ['alpha']).fixed()\n"
        f"tuned = describe_objective({tuned!r}, ['alpha', 'sizes']).fixed()\n"
        "print(json.dumps([sorted(before), {k: [v.value, v.default] for k, v in after.items()}, sorted(tuned)]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    before, after, tuned = json.loads(out)
    assert before == ["early_stopping"]  # scikit-learn not imported: no defaults read
    # scikit-learn's hidden_layer_sizes=(100,) is the prior's width 100 and one layer.
    assert after["hidden_layer_width"] == [100, True] and after["n_hidden_layers"] == [1, True]
    assert "hidden_layer_width" not in tuned and "n_hidden_layers" not in tuned
    # batch_size="auto" (left out here) runs min(200, n_samples): the prior's batch size 200, clipped as it ran.
    assert after["batch_size"] == [200, True]


def test_a_word_for_a_number_is_the_number_it_runs_for_that_estimator_only():
    cell = "def f(alpha): return MLPClassifier(alpha=alpha, batch_size='auto', solver='adam')"
    fixed = describe_objective(cell, ["alpha"]).fixed()
    assert fixed["batch_size"].value == 200 and fixed["solver"].value == "adam"
    assert describe_objective("def f(C): return SVC(C=C, gamma='auto')", ["C"]).fixed()["gamma"].value == "auto"


def test_settings_survive_json_and_older_json_without_them_reads_as_none_fixed():
    cell = "def f(C): return SVC(C=C, class_weight='balanced')"
    source = describe_objective(cell, ["C"])
    assert ObjectiveSource.from_json(json.loads(json.dumps(source.to_json()))) == source
    older = {k: v for k, v in source.to_json().items() if k != "settings"}
    assert ObjectiveSource.from_json(older).settings == ()
