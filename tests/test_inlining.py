"""The helpers an objective calls are read with it: what a parameter sets in a helper is its role."""

from __future__ import annotations

import textwrap

from helpers.cells import run_cell
from jupyter_metahpo.meta import inlining
from jupyter_metahpo.meta.source import describe_objective


def roles(source):
    return {(r.parameter, r.target, r.argument, r.role, r.direct) for r in source.roles}


def code(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


def test_a_helper_in_the_same_cell_gives_the_parameters_it_receives_their_roles():
    cell = code(
        """
        def build(lr, leaves):
            return HistGradientBoostingClassifier(learning_rate=lr, max_leaf_nodes=int(leaves))

        def objective(step, leaf_count):
            return cross_val_score(build(step, leaf_count), X, y).mean()
        """
    )
    source = describe_objective(cell, ["step", "leaf_count"])
    assert roles(source) == {
        ("step", "HistGradientBoostingClassifier", "learning_rate", "learning_rate", True),
        ("leaf_count", "HistGradientBoostingClassifier", "max_leaf_nodes", "max_leaf_nodes", True),
    }
    assert source.families == ("hgb",)


def test_keywords_unpacked_config_and_defaults_bind_the_helpers_arguments():
    cell = code(
        """
        def make_svm(C, gamma=0.1, kernel="linear"):
            return SVC(C=C, gamma=gamma, kernel=kernel)

        def make_forest(n_estimators, max_depth):
            return RandomForestClassifier(n_estimators=n_estimators, max_depth=max_depth)

        def objective(config):
            svm = make_svm(C=10 ** config["log_c"])
            forest = make_forest(**config)
            return score(svm) + score(forest)
        """
    )
    # Given as text, the cell's objective would be make_forest (the function taking most of the space's
    # names); the magic and tune() hand over the objective itself.
    objective = _define(cell, "<cell-config>")["objective"]
    source = describe_objective(objective, ["log_c", "n_estimators", "max_depth"])
    assert roles(source) == {
        ("log_c", "SVC", "C", "C", False),  # a transform of the parameter: its range is not C's
        ("n_estimators", "RandomForestClassifier", "n_estimators", "n_estimators", True),
        ("max_depth", "RandomForestClassifier", "max_depth", "max_depth", True),
    }
    fixed = source.fixed()
    assert fixed["kernel"].value == "linear" and not fixed["kernel"].default  # the helper's default, written
    assert fixed["gamma"].value == 0.1


def test_a_torch_module_class_connects_init_and_forward_through_self():
    cell = code(
        """
        class Net(nn.Module):
            def __init__(self, n_in, width, p):
                super().__init__()
                self.p = p
                self.layers = nn.ModuleList([nn.Linear(n_in, width)] + [nn.Linear(width, width) for _ in range(2)])
                self.out = nn.Linear(width, 1)

            def forward(self, x):
                for layer in self.layers:
                    x = F.dropout(torch.relu(layer(x)), p=self.p, training=self.training)
                return self.out(x)

        def objective(hidden, drop, lr):
            model = Net(10, hidden, p=drop)
            opt = torch.optim.Adam(model.parameters(), lr=lr)
            for epoch in range(20):
                opt.zero_grad(); loss(model).backward(); opt.step()
            return evaluate(model)
        """
    )
    source = describe_objective(cell, ["hidden", "drop", "lr"])
    assert {(r.parameter, r.role) for r in source.roles} == {
        ("hidden", "hidden_width"), ("drop", "dropout"), ("lr", "learning_rate"),
    }
    assert source.families == ("torch_mlp",)
    assert source.fixed()["max_epochs"].value == 20


def test_helpers_of_helpers_are_followed_and_recursion_stops():
    cell = code(
        """
        def model(depth):
            return DecisionTreeClassifier(max_depth=depth) if depth < 0 else RandomForestClassifier(max_depth=depth)

        def run(depth, tries):
            return run(depth, tries - 1) if tries else score(model(depth))

        def objective(max_depth):
            return run(max_depth, 3)
        """
    )
    source = describe_objective(cell, ["max_depth"])
    assert ("max_depth", "RandomForestClassifier", "max_depth", "max_depth", True) in roles(source)


def test_the_fingerprint_includes_the_helpers_and_is_unchanged_without_them():
    def objective_calling(helper_body):
        return code(
            f"""
            def evaluate(model):
                {helper_body}

            def objective(C, gamma):
                return evaluate(SVC(C=C, gamma=gamma))
            """
        )

    cross_validated = describe_objective(objective_calling("return cross_val_score(model, X, y).mean()"), ["C", "g"])
    held_out = describe_objective(objective_calling("return model.fit(X, y).score(X_test, y_test)"), ["C", "g"])
    assert cross_validated.fingerprint != held_out.fingerprint
    # Without a helper to read, the fingerprint is the one earlier versions stored (computed by 402a67a).
    plain = "def objective(C, gamma):\n    return evaluate(SVC(C=C, gamma=gamma))\n"
    assert describe_objective(plain, ["C", "gamma"]).fingerprint == "d324843429e10355"
    forest = code(
        """
        def objective(depth, leaf):
            model = RandomForestClassifier(max_depth=depth, min_samples_leaf=leaf)
            return cross_val_score(model, X, y).mean()
        """
    )
    assert describe_objective(forest, ["depth", "leaf"]).fingerprint == "88830ba2fca65465"


def _define(text: str, filename: str) -> dict:
    """Run ``text`` as IPython runs a cell: a module named ``__main__`` without a file, its lines in linecache."""
    return run_cell(text, filename, {"__name__": "__main__"})


def test_a_function_objective_follows_the_classes_and_functions_of_its_own_module_only():
    helpers = _define(
        code(
            """
            class Net:
                def __init__(self, width, rate):
                    self.width, self.rate = width, rate
                    self.hidden = nn.Linear(8, self.width)

                def forward(self, x):
                    return nn.functional.dropout(self.hidden(x), p=self.rate)

            def train(model, lr):
                return torch.optim.SGD(model.parameters(), lr=lr)
            """
        ),
        "<cell-1>",
    )
    cell = _define("def objective(h, r, lr, C):\n    return train(Net(h, r), lr), make_svc(C)\n", "<cell-2>")
    objective = cell["objective"]
    objective.__globals__.update(helpers)
    objective.__globals__["make_svc"] = inlining.parse  # a library's function: never read
    source = describe_objective(objective, ["h", "r", "lr", "C"])
    assert {(r.parameter, r.role) for r in source.roles} == {
        ("h", "hidden_width"), ("r", "dropout"), ("lr", "learning_rate"),
    }


def test_objects_of_the_notebook_that_raise_when_asked_anything_do_not_stop_the_reading():
    class Proxy:
        def __getattr__(self, name):
            raise RuntimeError(f"remote object: no {name}")

        def __call__(self, *args, **kwargs):
            raise RuntimeError("remote object")

    cell = _define(
        "def objective(C, x):\n    thing.set_params(svc__C=C)\n    thing(x)\n    return score(SVC(C=C))\n",
        "<cell-proxy>",
    )
    objective = cell["objective"]
    objective.__globals__["thing"] = Proxy()
    source = describe_objective(objective, ["C", "x"])
    assert roles(source) == {("C", "SVC", "C", "C", True)}


def test_a_helper_reading_the_objectives_settings_object_by_attribute_reads_the_parameters():
    cell = code(
        """
        def build_optimiser(model, args):
            return torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)

        def objective(args):
            opts = args
            model = nn.Sequential(nn.Linear(4, opts.width), nn.ReLU(), nn.Linear(opts.width, 1))
            return train(model, build_optimiser(model, args))
        """
    )
    source = describe_objective(cell, ["lr", "momentum", "width"])
    assert {(r.parameter, r.role) for r in source.roles} == {
        ("lr", "learning_rate"), ("momentum", "momentum"), ("width", "hidden_width"),
    }


def test_a_notebook_name_that_holds_an_estimator_class_is_that_estimator():
    from sklearn.svm import SVC, SVR

    cell = _define("def objective(C, gamma):\n    return score(Model(kernel='poly', C=C, gamma=gamma))\n", "<cell-m>")
    objective = cell["objective"]
    objective.__globals__["Model"] = SVR
    source = describe_objective(objective, ["C", "gamma"])
    assert source.estimators == ("SVR",) and source.kinds() == {"svm (kernel='poly')"}
    assert ("C", "SVR", "C", "C", True) in roles(source)
    objective.__globals__["Model"] = SVC
    assert describe_objective(objective, ["C", "gamma"]).estimators == ("SVC",)


def test_set_params_on_a_pipeline_the_objective_builds_gives_each_keyword_its_step():
    import sklearn.ensemble  # noqa: F401 - the cell imported it: the left-out defaults are read (one value each)
    import sklearn.svm  # noqa: F401

    cell = code(
        """
        def objective(config, depth):
            model = make_pipeline(StandardScaler(), SVC(class_weight="balanced"))
            model.set_params(**config)
            named = Pipeline([("scale", StandardScaler()), ("forest", RandomForestClassifier())])
            named.set_params(forest__max_depth=depth, forest__n_estimators=50)
            plain = SVR()
            plain.set_params(C=config["svr_c"])
            return score(model) + score(named) + score(plain)
        """
    )
    source = describe_objective(cell, ["svc__C", "svc__gamma", "depth", "svr_c"])
    assert {(r.parameter, r.target, r.argument) for r in source.roles} == {
        ("svc__C", "SVC", "C"), ("svc__gamma", "SVC", "gamma"),
        ("depth", "RandomForestClassifier", "max_depth"), ("svr_c", "SVR", "C"),
    }
    fixed = source.fixed()
    assert fixed["class_weight"].value == "balanced" and fixed["n_estimators"].value == 50


def test_a_local_is_read_as_its_literal_only_when_nothing_changes_it():
    def fixed(body):
        cell = f"def objective(C):\n{textwrap.indent(code(body), '    ')}\n"
        # (scikit-learn's left-out defaults are read too once sklearn.svm is imported: not the point here)
        return {s.role: s.value for s in describe_objective(cell, ["C"]).settings if s.role in ("kernel", "degree")}

    assert fixed("kernel = 'poly'\nreturn SVC(C=C, kernel=kernel)") == {"kernel": "poly"}
    assert fixed("degree = 2\ndegree += 1\nreturn SVC(C=C, kernel='poly', degree=degree)") == {"kernel": "poly"}
    assert fixed("for kernel in ('rbf', 'poly'):\n    model = SVC(C=C, kernel=kernel)\nreturn model") == {}


def test_helpers_imported_from_the_users_own_files_are_read_in_their_own_modules(tmp_path, monkeypatch):
    import importlib

    (tmp_path / "train_utils_for_metahpo_test.py").write_text(code(
        """
        from sklearn.ensemble import HistGradientBoostingClassifier


        def _model(rate, leaves):
            return HistGradientBoostingClassifier(learning_rate=rate, max_leaf_nodes=leaves)


        def build(lr, leaves):
            return _model(lr, leaves)
        """
    ))
    monkeypatch.syspath_prepend(str(tmp_path))
    utils = importlib.import_module("train_utils_for_metahpo_test")
    cell = _define("def objective(step, count):\n    return score(build(step, count))\n", "<cell-utils>")
    objective = cell["objective"]
    objective.__globals__["build"] = utils.build  # from train_utils import build
    source = describe_objective(objective, ["step", "count"])
    assert {(r.parameter, r.role) for r in source.roles} == {("step", "learning_rate"), ("count", "max_leaf_nodes")}
    # An installed library's function is never read as a helper, by name or through the user's module.
    from sklearn.model_selection import cross_val_score

    find = inlining.namespace_finder(objective, {"cross_val_score": cross_val_score, "build": utils.build})
    assert find("cross_val_score") is None and find("build") is not None
