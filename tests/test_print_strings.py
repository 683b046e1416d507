"""pytest-examples' long print output: a triple-quoted string right under ``print(...)``."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FENCE, block, invoke, run_examples

from docvalidate.print_strings import check_print_strings, parse_print_strings, pretty
from docvalidate.repair.guard import check_intent

Q = '"""'


def page(*blocks: str) -> str:
    return "# Settings\n\nSome prose.\n\n" + "".join(blocks)


# pydantic-settings' own layout: black at 88 columns, nested, under `except`, and a value
# that fits in a string but not in a `#>` line.
SETTINGS = f"""\
data = {{'v0': '0',
        'sub_model': {{'v1': 'json-1', 'v2': b'nested-2', 'v3': 3, 'deep': {{'v4': 'v4'}}}}}}
print(data)
{Q}
{{
    'v0': '0',
    'sub_model': {{'v1': 'json-1', 'v2': b'nested-2', 'v3': 3, 'deep': {{'v4': 'v4'}}}},
}}
{Q}
cfg = {{'llm': {{'provider': 'anthropic', 'api_key': 'your-api-key', 'api_type': 'azure',
                'api_version': '2024-03-15'}}}}
print(cfg)
{Q}
{{
    'llm': {{
        'provider': 'anthropic',
        'api_key': 'your-api-key',
        'api_type': 'azure',
        'api_version': '2024-03-15',
    }}
}}
{Q}
try:
    int('not a number, rather long to read')
except ValueError as e:
    print(e)
    {Q}
    invalid literal for int() with base 10: 'not a number, rather long to read'
    {Q}
print(['--this', '["hello", "world"]', '--nested.that', 'a=1', '--nested.that', 'b=2', 'arg'])
{Q}
['--this', '["hello", "world"]', '--nested.that', 'a=1', '--nested.that', 'b=2', 'arg']
{Q}"""


def test_right_output_passes(write, check_json):
    write("docs/index.md", page(block(SETTINGS, ), block(f"print(1 + 1)\n{Q}\n2\n{Q}")))
    examples = run_examples(check_json, "docs")
    assert [e["status"] for e in examples] == ["passed", "passed"], examples


@pytest.mark.parametrize(("right", "wrong", "string_line"), [
    ("\n    'sub_model': {'v1'", "\n    'sub_model': {'v9'", 9),  # in a black-wrapped value
    ("'api_version': '2024-03-15',", "'api_version': '2024-03-16',", 18),  # nested deeper
    ("base 10: 'not a number", "base 16: 'not a number", 32),  # indented, under except
    ("'b=2', 'arg']\n", "'b=2']\n", 36),  # one line: an item less
])
def test_wrong_output_fails_at_the_string(write, check_json, right: str, wrong: str,
                                          string_line: int):
    assert SETTINGS.count(right) == 1
    write("docs/index.md", page(block(SETTINGS.replace(right, wrong))))
    (example,) = run_examples(check_json, "docs")
    assert example["status"] == "failed"
    error = example["error"]
    assert error["type"] == "OutputMismatch"
    assert error["line"] == string_line
    assert f"at line {string_line}" in error["message"]
    assert "print() at line" in error["message"]
    assert "\n-" in error["diff"] and "\n+" in error["diff"]


def test_layout_alone_is_not_a_difference_but_quotes_and_values_are(write, check_json):
    # black's layout or one line: the same value. Other quotes or another number: not.
    value = "{'alpha': 1, 'beta': [1, 2, 3], 'gamma': 'a string long enough to need wrapping'}"
    layouts = {
        "one line": f"{Q}\n{value}\n{Q}",
        "black": (f"{Q}\n{{\n    'alpha': 1,\n    'beta': [1, 2, 3],\n"
                  f"    'gamma': 'a string long enough to need wrapping',\n}}\n{Q}"),
        "other quotes": f"{Q}\n{value.replace(chr(39), chr(34))}\n{Q}",
        "float": f"{Q}\n{value.replace('1,', '1.0,', 1)}\n{Q}",
        "extra line": f"{Q}\n{value}\n\n{Q}",
    }
    write("a.md", "".join(block(f"print({value})\n{text}") for text in layouts.values()))
    statuses = [e["status"] for e in run_examples(check_json, "a.md")]
    assert dict(zip(layouts, statuses, strict=True)) == {
        "one line": "passed", "black": "passed", "other quotes": "failed", "float": "failed",
        "extra line": "failed"}


def test_several_prints(write, check_json):
    code = (f"for n in range(3):\n    print('line', n)\n    {Q}\n    line 0\n    line 1\n"
            f"    line 2\n    {Q}\nprint('done')\n#> done\nprint('after')\n{Q}\nafter\n{Q}")
    write("a.md", block(code))
    (example,) = run_examples(check_json, "a.md")
    assert example["status"] == "passed", example
    write("a.md", block(code.replace("line 1\n", "line 7\n")))
    (example,) = run_examples(check_json, "a.md")
    assert example["error"]["type"] == "OutputMismatch" and example["error"]["line"] == 4
    # Both forms wrong: the first one in the block is reported.
    write("a.md", block(code.replace("#> done", "#> gone").replace("\nafter\n", "\nbefore\n")))
    (example,) = run_examples(check_json, "a.md")
    assert example["error"]["line"] == 10


def test_many_arguments_wrapped_onto_lines(write, check_json):
    # pytest-examples puts each argument of a long print on its own line.
    args = ["'first argument, long enough'", "'second argument, long enough too'",
            "'and a third one to pass eighty-eight'"]
    shown = "\n".join(a.strip("'") for a in args)
    write("a.md", block(f"print({', '.join(args)})\n{Q}\n{shown}\n{Q}")
          + block(f"print({', '.join(args)})\n{Q}\n{shown.replace('third', 'fourth')}\n{Q}"))
    assert [e["status"] for e in run_examples(check_json, "a.md")] == ["passed", "failed"]


def test_values_among_arguments_laid_out_by_black(write, check_json):
    # pytest-examples: each argument from a new line, a value laid out by black.
    code = ("settings = {'database': 'postgres://localhost/app', 'cache': 'redis://localhost/0',"
            "\n            'workers': (4,), 'debug': False}\n"
            "for name in ('first', 'second'):\n"
            "    print('Settings of the', name, 'run:', settings, 'end')\n"
            f"    {Q}\n    Settings of the\n    first\n    run:\n    {{\n"
            "        'database': 'postgres://localhost/app',\n"
            "        'cache': 'redis://localhost/0',\n        'workers': (4,),\n"
            f"        'debug': False,\n    }}\n    end\n    Settings of the second run:\n"
            "    {'database': 'postgres://localhost/app', 'cache': 'redis://localhost/0', "
            f"'workers': (4,), 'debug': False}}\n    end\n    {Q}")
    write("a.md", block(code) + block(code.replace("'workers': (4,),\n", "'workers': (5,),\n"))
          + block(code.replace("    first\n", "    fist\n"))
          + block(code.replace("'workers': (4,),\n", "'workers': (4),\n")))
    statuses = [e["status"] for e in run_examples(check_json, "a.md")]
    assert statuses == ["passed", "failed", "failed", "failed"]


def _check(code: str, *printed: str):
    """check_print_strings on ``code``, as if its first print call printed ``printed``."""
    (string,) = parse_print_strings(code)
    return check_print_strings([string], [(string.start, text) for text in printed],
                               lambda line: line + 10)  # as if the code began at line 11


def test_one_item_tuples_and_blank_lines():
    laid_out = f"print(x)\n{Q}\n(\n    'a long single item',\n)\n{Q}\n"
    assert _check(laid_out, "('a long single item',)\n") is None
    assert _check(laid_out, "('a long single item')\n") is not None
    assert _check(f"print(x)\n{Q}\nA\n\nB\n{Q}\n", "A\n\nB\n") is None
    assert _check(f"print(x)\n{Q}\nA\nB\n{Q}\n", "A\n\nB\n") is not None
    assert _check(f"print(x)\n{Q}\n\nA\n{Q}\n", "A\n") is not None
    error = _check(f"print(x)\n{Q}\nA\n{Q}\n", "B\n")
    # The error's line is the code's (the runner maps it); its message names the file's.
    assert error is not None and error.line == 2 and "print() at line 11" in error.message
    assert "expected output at line 12" in error.message


def test_hostile_strings_are_bounded():
    # Thousands of bracket lines: every way of grouping them was a path to try.
    many = "\n".join(["[" * 1] * 3000 + ["]"] * 3000)
    assert _check(f"print(x)\n{Q}\n{many}\n{Q}\n", "[" * 3000 + "]" * 3000 + "!") is not None
    assert _check(f"print(x)\n{Q}\n" + "a\n" * 50_000 + f"{Q}\n", "a " * 50_000) is None


def test_a_value_black_read_as_an_assignment(write, check_json):
    # str() of a pydantic model is `field=repr`: black formats it as the statement it looks
    # like, so pydantic's docs hold `value = ...` for what printed `value=...`.
    code = ("class Model:\n    def __str__(self):\n        return \"value=Compressed(dictionary="
            "{0: 'fox', 1: 'dog'}, text=[0, 0, 0, 1, 0, 1, 1])\"\n\n\nprint(Model())\n"
            f"{Q}\nvalue = Compressed(dictionary={{0: 'fox', 1: 'dog'}}, "
            f"text=[0, 0, 0, 1, 0, 1, 1])\n{Q}")
    write("a.md", block(code) + block(code.replace("1, 1])\n", "1, 2])\n"))
          + block(code.replace("{0: 'fox', 1", "{0:'fox',1")))
    statuses = [e["status"] for e in run_examples(check_json, "a.md")]
    assert statuses == ["passed", "failed", "passed"]  # spaces between tokens are layout


def test_a_print_that_did_not_run(write, check_json, project: Path):
    code = (f"try:\n    pass\nexcept ValueError as e:\n    print(e)\n    {Q}\n    bad value\n"
            f"    {Q}")
    doc = write("a.md", block(code))
    (example,) = run_examples(check_json, "a.md")
    assert example["error"]["type"] == "OutputMismatch" and example["error"]["line"] == 6
    assert "print() at line 5 did not run" in example["error"]["message"]
    invoke("fix", "--update-output", "a.md")
    assert doc.read_text() == block(code)  # nothing known to write instead


def test_memory_addresses_in_print_comments(write, check_json):
    write("a.md", block("class Thing:\n    pass\n\n\nprint(Thing())\n"
                        "#> <__main__.Thing object at 0x0123456789ab>"))
    (example,) = run_examples(check_json, "a.md")
    assert example["status"] == "passed", example


def test_memory_addresses_as_pytest_examples_writes_them(write, check_json):
    code = ("class Thing:\n    pass\n\n\nprint([Thing()] * 3)\n"
            f"{Q}\n[\n    <__main__.Thing object at 0x0123456789ab>,\n"
            "    <__main__.Thing object at 0x0123456789ab>,\n"
            f"    <__main__.Thing object at 0x0123456789ab>,\n]\n{Q}")
    write("a.md", block(code.replace("    <", "<").replace("[\n", "[").replace(",\n]", "]")
                        .replace(">,\n", ">, ")))
    (example,) = run_examples(check_json, "a.md")
    assert example["status"] == "passed", example


def test_not_checked_without_print_intercept(write, check_json):
    wrong = f"print(2)\n{Q}\n3\n{Q}"
    write("a.md", f'{FENCE}py test="no-print-intercept"\n{wrong}\n{FENCE}\n\n'
          + block(wrong, "no-print-check") + block(wrong))
    statuses = [e["status"] for e in run_examples(check_json, "a.md")]
    assert statuses == ["passed", "passed", "failed"]


def test_strings_that_are_not_print_output_are_left_alone(write, check_json):
    code = (f"x = 1\n{Q}\nnot output\n{Q}\nprint(x)\n\n{Q}\nnot adjacent\n{Q}\n"
            f"def f():\n    {Q}A docstring.{Q}\n    print('in f')\n")
    write("a.md", block(code))
    (example,) = run_examples(check_json, "a.md")
    assert example["status"] == "passed", example


def test_parse_positions_are_block_lines():
    code = (f"import sys\nif True:\n    print(\n        'x',\n    )\n    '''\n    x\n      y\n"
            f"    '''\nprint(1)\n{Q}1{Q}\nprint(2)  # two\nr{Q}\n2\n{Q}\n")
    one, two = parse_print_strings(code)
    assert (one.start, one.end, one.line, one.last) == (3, 5, 6, 9)
    assert (one.indent, one.quote, one.expected) == ("    ", "'''", "x\n  y")
    assert (two.start, two.line, two.last, two.expected) == (10, 11, 11, "1")
    assert parse_print_strings("print(1\n" + Q + "\n1\n" + Q) == ()  # a syntax error


def test_pretty_is_blacks_layout():
    value = ("{'auth_key': 'xxx', 'api_key': 'xxx', 'redis_dsn': RedisDsn('redis://user:pass@"
             "localhost:6379/1'), 'more_settings': {'foo': 'bar', 'apple': 1}, "
             "'domains': set()}")
    assert pretty(value, 88) == (
        "{\n    'auth_key': 'xxx',\n    'api_key': 'xxx',\n"
        "    'redis_dsn': RedisDsn('redis://user:pass@localhost:6379/1'),\n"
        "    'more_settings': {'foo': 'bar', 'apple': 1},\n    'domains': set(),\n}")
    call = "Model(name='a fairly long name', values=[1, 2, 3], other=True, more='text')"
    assert pretty(call, 74) == (
        "Model(\n    name='a fairly long name', values=[1, 2, 3], other=True, more='text'\n)")
    assert pretty(call, 40) == (
        "Model(\n    name='a fairly long name',\n    values=[1, 2, 3],\n    other=True,\n"
        "    more='text',\n)")
    assert pretty("not python at all, " * 10, 40) == "not python at all, " * 10
    assert pretty("[1, 2]", 4) == "[\n    1,\n    2,\n]"


WRONG = f"""\
import argparse
parser = argparse.ArgumentParser(prog='example', description='A demonstration program.')
try:
    print({{'prog': parser.prog, 'description': parser.description, 'options': ['-h', '--help']}})
    '''
    {{
        'prog': 'sample',
        'description': 'A demonstration program.',
    }}
    '''
except Exception:
    pass
print(parser.prog)
{Q}
example
{Q}
print('short')
{Q}
long
{Q}  # trailing comment"""


def test_fix_update_output_rewrites_the_strings(project: Path, write, check_json):
    doc = write("a.md", page(block(WRONG)))
    result = invoke("fix", "a.md")
    assert result.exit_code == 1 and "'sample'" in doc.read_text()  # only when asked
    result = invoke("fix", "--update-output", "a.md")
    assert result.exit_code == 0, result.output
    text = doc.read_text()
    assert text == page(block(WRONG.replace(
        "        'prog': 'sample',\n", "        'prog': 'example',\n").replace(
        "        'description': 'A demonstration program.',\n",
        "        'description': 'A demonstration program.',\n"
        "        'options': ['-h', '--help'],\n").replace("long\n", "short\n")))
    (example,) = run_examples(check_json, "a.md")
    assert example["status"] == "passed"


def test_fix_keeps_what_was_right_and_avoids_the_quotes_printed(project: Path, write):
    code = (f"print('a triple {Q} quote')\n{Q}\nwrong\n{Q}\n"
            f"print({{'k': 1}})\n{Q}\n{{\n    'k': 1,\n}}\n{Q}")
    doc = write("a.md", block(code))
    assert invoke("fix", "--update-output", "a.md").exit_code == 0
    assert doc.read_text() == block(
        f"print('a triple {Q} quote')\n'''\na triple {Q} quote\n'''\n"
        f"print({{'k': 1}})\n{Q}\n{{\n    'k': 1,\n}}\n{Q}")


def test_guard_treats_the_string_as_expected_output():
    original = f"print(sorted([3, 1, 2]))\n{Q}\n[1, 2, 3]\n{Q}\n"
    changed = original.replace("[1, 2, 3]", "[3, 2, 1]")
    assert check_intent(original, changed) == 'changes the expected output "[1, 2, 3]"'
    assert check_intent(original, changed, update_output=True) is None
    removed = "print(sorted([3, 1, 2]))\n"
    assert check_intent(original, removed) == 'removes the expected output "[1, 2, 3]"'


def test_what_fix_writes_passes_the_check(project: Path, write, check_json):
    code = (f"for n in range(2):\n    print(n, end='')\n    print('!')\n    {Q}\n    ?\n    {Q}\n"
            f"print('text\\n')\n{Q}\nold\n{Q}\n"
            "if True:\n    print({'key': list(range(30)), 'other': {'a': 'b' * 30, 'c': None}})\n"
            f"    {Q}\n    {{}}\n    {Q}\n")
    doc = write("a.md", block(code))
    assert [e["status"] for e in run_examples(check_json, "a.md")] == ["failed"]
    assert invoke("fix", "--update-output", "a.md").exit_code == 0
    assert [e["status"] for e in run_examples(check_json, "a.md")] == ["passed"]
    text = doc.read_text()
    assert f"    {Q}\n    !\n    !\n    {Q}\n" in text  # each run of the call right above
    assert f"{Q}\ntext\n{Q}\n" in text  # the newlines around the output dropped
    assert "\n        'other': {'a': 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', 'c': None},\n    }\n" in text
