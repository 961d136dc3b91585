"""The README's Python examples run as written, and its quick start names real commands."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_python_examples_run_in_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the examples write files (penguins.skops): not into the repository
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert len(blocks) >= 2
    namespace = {}
    from residual_mlp.callbacks import AVAILABLE
    for block in blocks:
        if "sklearn.callback" in block and not AVAILABLE:  # scikit-learn < 1.9: the one example it cannot run
            continue
        block = block.replace("epochs=500", "epochs=20")  # the same call, shorter
        exec(compile(block, "README.md", "exec"), namespace)
    params = namespace["params"]
    assert params.W1.shape == (64, 64) and params.W4.shape == (10, 128)
    assert namespace["history"].loss[-1] < namespace["history"].loss[0]


def test_every_command_the_readme_shows_exists():
    from residual_mlp.cli import COMMANDS

    shown = set(re.findall(r"^residual-mlp (\w+)", README, flags=re.M))
    assert {"train", "predict", "evaluate", "info", "gradcheck", "explain"} <= shown
    assert shown <= set(COMMANDS)


def test_quick_start_is_two_commands():
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.*?)\n```", quick, flags=re.S)
    assert commands == ['pip install . && residual-mlp train', 'pip install -e ".[test]" && python -m pytest']
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1] in ci
