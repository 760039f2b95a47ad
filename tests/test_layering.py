"""Who may import whom: the building blocks (ops, nets, losses) reach the layers above them (eval, models,
cli, api) through config instantiation, not through imports; callbacks are reached by configs only."""
import ast
import pathlib

import inpainting

PACKAGE = pathlib.Path(inpainting.__file__).parent
BLOCKS = ("inpainting.ops", "inpainting.nets", "inpainting.losses")
UPPER = ("eval", "models", "cli", "api.py")


def imports(path: pathlib.Path) -> set[str]:
    """Every ``inpainting.*`` module ``path`` imports (at the top or inside a function)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("inpainting.")}


def files(*parts: str) -> list[pathlib.Path]:
    paths = []
    for part in parts:
        target = PACKAGE / part
        paths.extend(sorted(target.rglob("*.py")) if target.is_dir() else [target])
    return paths


def edges(sources, targets) -> set[tuple[str, str]]:
    return {(path.relative_to(PACKAGE).as_posix(), name) for path in files(*sources) for name in imports(path)
            if any(name == t or name.startswith(t + ".") for t in targets)}


def test_no_import_from_the_building_blocks_into_the_upper_layers():
    assert edges(UPPER, BLOCKS) == set()


def test_lower_layers_import_no_callback_and_no_report():
    # the modules log their own validation metrics; the losses take weight file names from utils.weights
    assert edges(["models", "losses", "nets", "ops", "data"], ["inpainting.callbacks", "inpainting.eval.report"]) == set()
    assert edges(["losses", "nets", "ops"], ["inpainting.eval.perceptual"]) == set()


def test_the_checker_sees_imports_inside_functions(tmp_path):
    source = tmp_path / "x.py"
    source.write_text("def f():\n    from inpainting.nets.meta import NetMeta\n    import inpainting.ops.filtering\n")
    assert imports(source) == {"inpainting.nets.meta", "inpainting.ops.filtering"}
