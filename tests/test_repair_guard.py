"""The intent guard: a cheating repair is rejected with a reason naming what it removed or
added; a real repair of the same example is accepted. The guard only parses code, so the
libraries these examples use need not be installed."""

from __future__ import annotations

import pytest

from docvalidate.model import ErrorInfo
from docvalidate.repair.guard import check_intent

REQUESTS = '''\
import requests

response = requests.get("https://api.example.com/users", timeout="5")
response.raise_for_status()
users = response.json()
print(users[0]["name"])
#> Ada Lovelace
'''

HOTEL = '''\
from hotel import Room

room = Room(number=101, nightly_rate=120.0)
room.book(nights=3)
print(room.total())
#> 360.0
'''

PANDAS = '''\
import pandas as pd

df = pd.DataFrame({"city": ["Oslo", "Oslo", "Rome"], "temp": [3, 5, 18]})
means = df.groupby("city")["temp"].mean()
print(means["Oslo"])
#> 4.0
'''

PYDANTIC = '''\
from pydantic import BaseModel, field_validator


class User(BaseModel):
    name: str
    age: int

    @field_validator("age")
    @classmethod
    def check_age(cls, value: int) -> int:
        if value < 0:
            raise ValueError("age must be positive")
        return value


user = User(name="Ada", age=36)
assert user.age == 36
assert user.model_dump() == {"name": "Ada", "age": 36}
'''

SESSION = '''\
>>> from hotel import Room
>>> room = Room(number=101, nightly_rate=120.0)
>>> room.book(nights=3)
>>> room.total()
360.0
>>> room.describe()
'Room 101: 3 nights'
'''


def attribute_error(name: str, owner: str = "'Room' object") -> ErrorInfo:
    message = f"{owner} has no attribute '{name}'"
    return ErrorInfo("AttributeError", message, exception_only=f"AttributeError: {message}\n",
                     mro=("builtins.AttributeError", "builtins.Exception"))


# --- rule 1: names of the documented library -----------------------------------------------


def test_fixed_argument_is_accepted():
    assert check_intent(REQUESTS, REQUESTS.replace('timeout="5"', "timeout=5")) is None


def test_replacing_the_library_call_with_data_is_rejected():
    candidate = '''\
users = [{"name": "Ada Lovelace"}]
print(users[0]["name"])
#> Ada Lovelace
'''
    reason = check_intent(REQUESTS, candidate)
    assert reason == "removes the call to requests.get"


def test_dropping_a_method_call_on_a_library_object_is_rejected():
    candidate = REQUESTS.replace("response.raise_for_status()\n", "")
    assert check_intent(REQUESTS, candidate) == "removes the call to response.raise_for_status"


def test_renamed_attribute_is_accepted_after_attribute_error():
    candidate = HOTEL.replace("room.total()", "room.total_value()")
    error = attribute_error("total")
    assert check_intent(HOTEL, candidate, error=error) is None


def test_renamed_attribute_is_rejected_without_the_error_that_proves_it():
    candidate = HOTEL.replace("room.total()", "room.total_value()")
    assert check_intent(HOTEL, candidate) == "removes the call to room.total"
    # An error about another name proves nothing about `total`.
    assert check_intent(HOTEL, candidate, error=attribute_error("book")) == (
        "removes the call to room.total")


def test_attribute_error_allows_exactly_that_name_only():
    candidate = HOTEL.replace("room.total()", "room.total_value()").replace(
        "room.book(nights=3)\n", "")
    reason = check_intent(HOTEL, candidate, error=attribute_error("total"))
    assert reason == "removes the call to room.book"


def test_module_attribute_error_allows_the_replacement():
    original = 'import requests\n\nr = requests.fetch("https://example.com")\nprint(r.status_code)\n'
    candidate = original.replace("requests.fetch", "requests.get")
    error = attribute_error("fetch", owner="module 'requests'")
    assert check_intent(original, candidate, error=error) is None
    assert check_intent(original, candidate) == "removes the call to requests.fetch"


def test_aliases_are_followed():
    # Same library use under another alias and variable names: nothing is lost.
    candidate = '''\
import pandas

frame = pandas.DataFrame({"city": ["Oslo", "Oslo", "Rome"], "temp": [3, 5, 18]})
means = frame.groupby("city")["temp"].mean()
print(means["Oslo"])
#> 4.0
'''
    assert check_intent(PANDAS, candidate) is None


def test_dropping_a_call_on_an_aliased_object_is_rejected():
    candidate = PANDAS.replace('df.groupby("city")["temp"].mean()',
                               'df[df["city"] == "Oslo"]["temp"].sum() / 2')
    assert check_intent(PANDAS, candidate) == "removes the call to df.groupby"


def test_dropping_a_from_import_and_its_use_is_rejected():
    candidate = PYDANTIC.replace("BaseModel, field_validator", "BaseModel").replace(
        '    @field_validator("age")\n', "")
    assert check_intent(PYDANTIC, candidate) == "removes the call to field_validator"


def test_added_missing_import_after_name_error_is_accepted():
    original = HOTEL.replace("from hotel import Room\n\n", "")
    error = ErrorInfo("NameError", "name 'Room' is not defined", mro=("builtins.NameError",))
    assert check_intent(original, HOTEL, error=error) is None


def test_moved_module_is_accepted_after_module_not_found():
    original = '''\
from sklearn.cross_validation import train_test_split

train, test = train_test_split(list(range(10)), test_size=0.2, random_state=0)
print(len(train), len(test))
#> 8 2
'''
    candidate = original.replace("cross_validation", "model_selection")
    error = ErrorInfo("ModuleNotFoundError", "No module named 'sklearn.cross_validation'",
                      mro=("builtins.ModuleNotFoundError", "builtins.ImportError"))
    assert check_intent(original, candidate, error=error) is None
    assert check_intent(original, candidate) == (
        "removes the call to train_test_split")


def test_moved_name_is_accepted_after_cannot_import_name():
    original = '''\
from pandas.io.json import json_normalize

flat = json_normalize([{"id": 1, "user": {"name": "Ada"}}])
print(list(flat.columns))
#> ['id', 'user.name']
'''
    candidate = original.replace("pandas.io.json", "pandas")
    message = "cannot import name 'json_normalize' from 'pandas.io.json' (/x/json/__init__.py)"
    error = ErrorInfo("ImportError", message, mro=("builtins.ImportError",))
    assert check_intent(original, candidate, error=error) is None
    assert check_intent(original, candidate) is not None


def test_only_third_party_imports_are_protected():
    code = 'print(requests.get("https://example.com", timeout=5).status_code)\n#> 200\n'
    with_os = "import os\nimport requests\n\n" + code
    with_tqdm = "import tqdm\nimport requests\n\n" + code
    assert check_intent(with_os, with_os.replace("import os\n", "")) is None
    assert check_intent(with_tqdm, with_tqdm.replace("import tqdm\n", "")) == (
        "removes the import of tqdm")


# --- rule 2: broad handlers ------------------------------------------------------------------


@pytest.mark.parametrize(("handler", "shown"), [
    ("except:", "bare `except:`"),
    ("except Exception:", "`except Exception:`"),
    ("except (requests.HTTPError, BaseException):",
     "`except (requests.HTTPError, BaseException):`"),
])
def test_added_broad_handler_is_rejected(handler, shown):
    candidate = REQUESTS.replace(
        "response.raise_for_status()\n",
        f"try:\n    response.raise_for_status()\n{handler}\n    pass\n")
    assert check_intent(REQUESTS, candidate) == (
        f"adds a broad {shown} handler that can hide the error")


def test_added_suppress_is_rejected():
    candidate = REQUESTS.replace(
        "response.raise_for_status()\n",
        "with contextlib.suppress(Exception):\n    response.raise_for_status()\n",
    ).replace("import requests\n", "import contextlib\nimport requests\n")
    assert check_intent(REQUESTS, candidate) == (
        "adds a broad `contextlib.suppress(Exception)` handler that can hide the error")


def test_narrow_handler_and_existing_broad_handler_are_accepted():
    narrow = REQUESTS.replace(
        "response.raise_for_status()\n",
        "try:\n    response.raise_for_status()\nexcept requests.HTTPError as exc:\n"
        "    print(exc.response.status_code)\n")
    assert check_intent(REQUESTS, narrow) is None
    original = "import requests\n\ntry:\n    requests.get(URL)\nexcept Exception:\n    raise\n"
    assert check_intent(original, original.replace("URL", "'https://example.com'")) is None
    doubled = original + "try:\n    requests.get(URL)\nexcept Exception:\n    pass\n"
    assert check_intent(original, doubled) is not None


# --- rule 3: mocks, monkeypatches, exits -----------------------------------------------------


def test_mocking_the_library_is_rejected():
    candidate = '''\
from unittest.mock import patch

import requests

with patch("requests.get") as get:
    get.return_value.json.return_value = [{"name": "Ada Lovelace"}]
    response = requests.get("https://api.example.com/users", timeout=5)
    response.raise_for_status()
    users = response.json()
    print(users[0]["name"])
    #> Ada Lovelace
'''
    reason = check_intent(REQUESTS, candidate)
    assert reason == "adds mocking (import of unittest.mock.patch)"


def test_magicmock_from_the_mock_package_is_rejected():
    candidate = "import mock\n" + REQUESTS.replace(
        "response = requests.get(", "response = mock.MagicMock() or requests.get(")
    assert check_intent(REQUESTS, candidate) == "adds mocking (import of mock)"


def test_mocking_kept_from_the_original_is_accepted():
    original = '''\
from unittest import mock

sender = mock.Mock()
sender.send("hello")
sender.send.assert_called_once_with("hello")
'''
    assert check_intent(original, original.replace('"hello"', "'hello'")) is None


@pytest.mark.parametrize(("patch_line", "shown"), [
    ("requests.get = lambda url, timeout: FakeResponse()\n", "requests.get"),
    ("setattr(requests, 'get', lambda url, timeout: FakeResponse())\n", "requests.get"),
])
def test_monkeypatching_the_library_is_rejected(patch_line, shown):
    candidate = REQUESTS.replace("\nresponse =", f"\n{patch_line}response =")
    assert check_intent(REQUESTS, candidate) == f"adds a monkeypatch of {shown}"


def test_monkeypatching_an_imported_class_is_rejected():
    candidate = HOTEL.replace("\nroom =", "\nRoom.total = lambda self: 360.0\nroom =")
    assert check_intent(HOTEL, candidate) == "adds a monkeypatch of hotel.Room.total"


def test_setting_an_attribute_on_a_library_object_is_accepted():
    candidate = HOTEL.replace("room.book(nights=3)\n", "room.guests = 2\nroom.book(nights=3)\n")
    assert check_intent(HOTEL, candidate) is None


@pytest.mark.parametrize(("exit_code", "shown"), [
    ("import sys\nsys.exit(0)\n", "a call to sys.exit()"),
    ("from os import _exit\n_exit(0)\n", "a call to os._exit()"),
    ("exit()\n", "a call to exit()"),
    ("quit()\n", "a call to quit()"),
    ("raise SystemExit(0)\n", "`raise SystemExit`"),
])
def test_exiting_early_is_rejected(exit_code, shown):
    candidate = HOTEL.replace("room.book(", exit_code + "room.book(")
    assert check_intent(HOTEL, candidate) == f"adds {shown}"


# --- rule 4: asserts and expected output -----------------------------------------------------


def test_removed_assert_is_rejected_even_with_update_output():
    candidate = PYDANTIC.replace('assert user.model_dump() == {"name": "Ada", "age": 36}\n',
                                 'print(user.model_dump())\n')
    assert check_intent(PYDANTIC, candidate) == "removes 1 assert statement (2 -> 1)"
    assert check_intent(PYDANTIC, candidate, update_output=True) is not None


def test_assert_true_does_not_count_as_an_assert():
    candidate = PYDANTIC.replace("assert user.age == 36", "assert True")
    assert check_intent(PYDANTIC, candidate) == "removes 1 assert statement (2 -> 1)"


def test_fixed_assert_is_accepted():
    candidate = PYDANTIC.replace('"age": 36}', '"age": 36, }')
    assert check_intent(PYDANTIC, candidate) is None


def test_removed_print_comment_is_rejected():
    candidate = HOTEL.replace("#> 360.0\n", "")
    assert check_intent(HOTEL, candidate) == 'removes the expected output "360.0"'


def test_changed_print_comment_needs_update_output():
    candidate = HOTEL.replace("#> 360.0", "#> 396.0")
    assert check_intent(HOTEL, candidate) == 'changes the expected output "360.0"'
    assert check_intent(HOTEL, candidate, update_output=True) is None


def test_print_comment_in_a_string_is_not_expected_output():
    original = 'from hotel import Room\n\nprint(Room.__doc__)\nNOTE = """\n#> 1\n"""\n'
    candidate = original.replace("#> 1", "#> 2")
    assert check_intent(original, candidate) is None


# --- pycon sessions --------------------------------------------------------------------------


def test_session_repair_after_attribute_error_is_accepted():
    original = SESSION.replace("room.total()", "room.total_amount()")
    assert check_intent(original, SESSION, interactive=True,
                        error=attribute_error("total_amount")) is None
    assert check_intent(original, SESSION, interactive=True) == (
        "removes the call to room.total_amount")


def test_session_changed_output_needs_update_output():
    candidate = SESSION.replace("'Room 101: 3 nights'", "'Room 101 (3 nights)'")
    assert check_intent(SESSION, candidate, interactive=True) == (
        "changes the expected output \"'Room 101: 3 nights'\"")
    assert check_intent(SESSION, candidate, interactive=True, update_output=True) is None


def test_session_dropping_a_statement_and_its_output_is_rejected():
    candidate = SESSION.replace(">>> room.total()\n360.0\n", "")
    reason = check_intent(SESSION, candidate, interactive=True, update_output=True)
    assert reason == "removes the call to room.total"
    assert check_intent(SESSION, candidate, interactive=True) == (
        'removes the expected output "360.0"')


def test_session_mocking_is_rejected():
    candidate = SESSION.replace(">>> room.total()",
                                ">>> from unittest.mock import MagicMock\n"
                                ">>> room.total = MagicMock(return_value=360.0)\n"
                                ">>> room.total()")
    assert check_intent(SESSION, candidate, interactive=True) == (
        "adds mocking (import of unittest.mock.MagicMock)")


def test_malformed_session_is_rejected():
    candidate = SESSION.replace(">>> room.total()", ">>>room.total()")
    reason = check_intent(SESSION, candidate, interactive=True)
    assert reason is not None
    assert reason.startswith("the repair is not a valid interactive session")


# --- rule 5: placeholder bodies --------------------------------------------------------------


def test_function_body_replaced_by_pass_is_rejected():
    body = ('        if value < 0:\n            raise ValueError("age must be positive")\n'
            "        return value\n")
    candidate = PYDANTIC.replace(body, "        pass\n")
    assert check_intent(PYDANTIC, candidate) == (
        "replaces the body of `def check_age` with `pass`/`...`")


def test_loop_body_replaced_by_ellipsis_is_rejected():
    original = '''\
import httpx

with httpx.Client(base_url="https://api.example.com") as client:
    for page in range(1, 4):
        reply = client.get("/items", params={"page": page})
        print(page, reply.status_code)
'''
    candidate = original.replace(
        '        reply = client.get("/items", params={"page": page})\n'
        "        print(page, reply.status_code)\n",
        '        ...\n'
        'reply = client.get("/items", params={"page": 1})\nprint(1, reply.status_code)\n')
    assert check_intent(original, candidate) == (
        "replaces the body of a `for` loop with `pass`/`...`")


def test_whole_example_replaced_by_pass_is_rejected():
    assert check_intent(HOTEL, "pass\n") == "replaces the whole example with `pass`/`...`"


def test_stub_that_was_already_a_stub_is_accepted():
    original = '''\
from hotel import Room


class Suite(Room):
    """A room with a lounge."""


class Penthouse(Suite):
    ...


print(Penthouse(number=1, nightly_rate=900.0).total())
'''
    candidate = original.replace("nightly_rate=900.0", "rate=900.0")
    assert check_intent(original, candidate) is None


# --- rule 6: shrinking -----------------------------------------------------------------------

REPORT = '''\
import csv
import io

# Build a small report.
rows = [("Oslo", 3), ("Oslo", 5), ("Rome", 18)]
buffer = io.StringIO()
writer = csv.writer(buffer)
writer.writerow(("city", "temp"))
for city, temp in rows:
    writer.writerow((city, temp))
text = buffer.getvalue()
print(text.splitlines()[1])
#> Oslo,3
'''


def test_shrinking_by_more_than_forty_percent_is_rejected():
    candidate = 'import io\n\nprint("Oslo,3")\n#> Oslo,3\n'
    assert check_intent(REPORT, candidate) == (
        "shrinks the example from 10 to 2 lines of code (more than 40% shorter)")


def test_shrinking_is_counted_in_code_lines():
    # Exactly 40% fewer code lines (10 -> 6) is allowed, and comments and blank lines do not
    # count; one line fewer crosses the limit.
    original = "\n".join(f"total{i} = {i}  # step {i}\n# note" for i in range(10)) + "\n"
    six = "".join(f"total{i} = {i}\n\n" for i in range(6))
    assert check_intent(original, six) is None
    five = "".join(f"total{i} = {i}\n" for i in range(5))
    assert check_intent(original, five) == (
        "shrinks the example from 10 to 5 lines of code (more than 40% shorter)")


# --- rule 7 and syntax -----------------------------------------------------------------------


def test_no_fix_block_may_not_change():
    candidate = HOTEL.replace("room.total()", "room.total_value()")
    reason = check_intent(HOTEL, candidate, error=attribute_error("total"), no_fix=True)
    assert reason == "changes a block marked no-fix, which must stay as written"
    assert check_intent(HOTEL, HOTEL.rstrip("\n"), no_fix=True) is None


def test_candidate_that_does_not_parse_is_rejected():
    candidate = HOTEL.replace("room.total()", "room.total(")
    reason = check_intent(HOTEL, candidate)
    assert reason is not None
    assert reason.startswith("the repair is not valid Python: ")


def test_parse_failures_of_both_are_left_to_the_runner():
    original = HOTEL.replace("print(room.total())", "print room.total()")
    still_broken = original.replace("print room", "print  room")
    assert check_intent(original, still_broken) is None
    assert check_intent(original, HOTEL) is None  # the syntax fix itself is fine
    # An unparsable original still has lines and output to protect.
    assert check_intent(original, "pass\n") == "replaces the whole example with `pass`/`...`"
