"""Deterministic fixers: expected output updates and missing imports."""

from __future__ import annotations

from docvalidate.expected_output import flag_value
from docvalidate.model import ErrorInfo, Example, Result
from docvalidate.repair.fixers import fix_import, fix_output, known_imports
from docvalidate.sources.fences import is_interactive

FLAGS = flag_value(("ELLIPSIS", "NORMALIZE_WHITESPACE"))


def example(code: str, language: str = "python", line: int = 10) -> Example:
    return Example(path="a.md", language=language, info=language, code=code, span=(0, 0),
                   prefix="", newline="\n", line=line, end_line=line + code.count("\n") + 1,
                   interactive=is_interactive(language, code))


def name_error(name: str) -> ErrorInfo:
    return ErrorInfo("NameError", f"name '{name}' is not defined", 12)


def test_known_imports_from_the_docs():
    found = known_imports([
        example("import numpy as np\nimport os.path\nfrom pandas import DataFrame as DF\n"),
        example("import numpy as other\nfrom .rel import x\n"),
        example(">>> import json\n", "pycon"),
        example("this is not python(\n"),
    ])
    assert found == {"np": "import numpy as np", "os": "import os.path",
                     "DF": "from pandas import DataFrame as DF",
                     "other": "import numpy as other"}


def test_fix_import_from_docs_and_stdlib():
    ex = example("arr = np.zeros(3)\n")
    assert fix_import(ex, name_error("np"), {"np": "import numpy as np"}) == \
        "import numpy as np\narr = np.zeros(3)\n"
    assert fix_import(example("print(json.dumps(1))\n"), name_error("json"), {}) == \
        "import json\nprint(json.dumps(1))\n"
    assert fix_import(example("frobnicate()\n"), name_error("frobnicate"), {}) is None
    assert fix_import(ex, ErrorInfo("TypeError", "bad"), {"np": "import numpy as np"}) is None


def test_fix_import_keeps_future_imports_and_docstring_first():
    ex = example('"""Doc."""\nfrom __future__ import annotations\nx: Path = 1\n')
    assert fix_import(ex, name_error("pathlib"), {}) == \
        '"""Doc."""\nfrom __future__ import annotations\nimport pathlib\nx: Path = 1\n'


def test_fix_import_in_a_session():
    ex = example("  >>> json.dumps(1)\n  '1'\n", "pycon")
    assert fix_import(ex, name_error("json"), {}) == \
        "  >>> import json\n  >>> json.dumps(1)\n  '1'\n"


def mismatch() -> ErrorInfo:
    return ErrorInfo("OutputMismatch", "differs", 12)


def test_fix_output_print_comments():
    code = ("x = 2\nprint(x)\n#> 1\nfor i in range(2):\n    print(i)\n    #> 9\n"
            "print('a\\nb')\n#> a\n")
    ex = example(code)
    first = 1  # a run reports the lines of the example's code
    result = Result(ex.id, "failed", error=mismatch(),
                    prints=((first + 1, "2\n"), (first + 4, "0\n"), (first + 4, "1\n"),
                            (first + 6, "a\nb\n")))
    assert fix_output(ex, result, FLAGS) == (
        "x = 2\nprint(x)\n#> 2\nfor i in range(2):\n    print(i)\n    #> 0\n    #> 1\n"
        "print('a\\nb')\n#> a\n#> b\n")


def test_fix_output_session():
    code = ">>> 1 + 1\n3\n>>> print('a')\n>>> int('x')\n42\n>>> 'unchanged'\n'unchanged'\n"
    ex = example(code, "pycon")
    result = Result(ex.id, "failed", error=mismatch(), outputs=(
        ("2\n", None), ("a\n", None),
        ("", "ValueError: invalid literal for int() with base 10: 'x'\n"),
        ("'unchanged'\n", None)))
    assert fix_output(ex, result, FLAGS) == (
        ">>> 1 + 1\n2\n>>> print('a')\na\n>>> int('x')\nTraceback (most recent call last):\n"
        "    ...\nValueError: invalid literal for int() with base 10: 'x'\n>>> 'unchanged'\n"
        "'unchanged'\n")


def test_fix_output_only_for_output_mismatch():
    ex = example("print(1)\n#> 2\n")
    other = Result(ex.id, "failed", error=ErrorInfo("ValueError", "x"))
    assert fix_output(ex, other, FLAGS) is None
