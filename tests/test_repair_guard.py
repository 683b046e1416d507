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


# --- rule 11: names of the documented library ------------------------------------------------


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


# --- rule 5: broad handlers ------------------------------------------------------------------


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


# --- rule 10: asserts and expected output ----------------------------------------------------


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


# --- interactive sessions --------------------------------------------------------------------


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


# --- rule 8: placeholder bodies --------------------------------------------------------------


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


# --- rule 12: shrinking ----------------------------------------------------------------------

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


# --- rules 1 and 2: no-fix and syntax --------------------------------------------------------


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


# --- the error the original raised, for the rules that need it -------------------------------

PRICES = '''\
prices = [1, 2, 3]
assert sum(prices) == 7
'''

PARSE = '''\
import json

data = json.loads('{"a": 1,}')
print(data["a"])
#> 1
'''


def error_of(kind: str, *bases: str, message: str = "") -> ErrorInfo:
    mro = (f"builtins.{kind}" if "." not in kind else kind, *bases,
           "builtins.Exception", "builtins.BaseException", "builtins.object")
    return ErrorInfo(kind.rsplit(".", 1)[-1], message, mro=mro)


ASSERTION = error_of("AssertionError")
JSON_ERROR = error_of("json.decoder.JSONDecodeError", "builtins.ValueError",
                      message="Expecting property name enclosed in double quotes")


# --- rule 4: reaching outside the example ----------------------------------------------------


@pytest.mark.parametrize(("added", "shown"), [
    ("import os; os.write(3, b'{}')", "a file-descriptor operation (os.write)"),
    ("import os as o\no.dup2(1, 3)", "a file-descriptor operation (os.dup2)"),
    ("from os import write\nwrite(3, b'x')", "a file-descriptor operation (os.write)"),
    ("from os import writev as w\nw(3, [b'x'])", "a file-descriptor operation (os.writev)"),
    ("import os\nos.pwrite(3, b'x', 0)", "a file-descriptor operation (os.pwrite)"),
    ("import os\nos.dup(1)", "a file-descriptor operation (os.dup)"),
    ("import os\nos.fdopen(3, 'w').write('x')", "a file-descriptor operation (os.fdopen)"),
    ("import os\nos.close(3)", "a file-descriptor operation (os.close)"),
    ("import os\nos.closerange(3, 9)", "a file-descriptor operation (os.closerange)"),
    ("open(3, 'w').write('{}')", "a file-descriptor operation (open(3))"),
    ("open(file=3, mode='w')", "a file-descriptor operation (open(3))"),
    ("import sys\nopen(sys.stdout.fileno(), 'w')",
     "a file-descriptor operation (open(sys.stdout.fileno()))"),
    ("import io\nio.open(3, 'wb')", "a file-descriptor operation (io.open(3))"),
    ("from io import FileIO\nFileIO(3, 'w')", "a file-descriptor operation (io.FileIO(3))"),
    ("import socket\nsocket.fromfd(3, socket.AF_UNIX, socket.SOCK_STREAM)",
     "a file-descriptor operation (socket.fromfd)"),
    ("import socket\nsocket.socket(fileno=3)",
     "a file-descriptor operation (socket.socket(fileno=...))"),
    ("open('/proc/self/fd/3', 'w')", "a file-descriptor operation (the path /proc/self/fd/3)"),
    ("open('/dev/fd/3', 'w')", "a file-descriptor operation (the path /dev/fd/3)"),
    ("import ctypes", "native code access (ctypes)"),
    ("from ctypes import pythonapi", "native code access (ctypes)"),
    ("import _ctypes", "native code access (_ctypes)"),
    ("import cffi", "native code access (cffi)"),
    ("import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)",
     "signal handling (signal.signal)"),
    ("from signal import alarm\nalarm(1)", "signal handling (signal.alarm)"),
    ("import signal\nsignal.setitimer(signal.ITIMER_REAL, 1.0)",
     "signal handling (signal.setitimer)"),
    ("import signal\nsignal.pthread_sigmask(signal.SIG_BLOCK, [])",
     "signal handling (signal.pthread_sigmask)"),
    ("import signal\nsignal.set_wakeup_fd(3)", "signal handling (signal.set_wakeup_fd)"),
    ("import sys\nsys._getframe(0).f_globals['x'] = 1",
     "access to the running interpreter (sys._getframe)"),
    ("import inspect\ninspect.currentframe()",
     "access to the running interpreter (inspect.currentframe)"),
    ("import inspect\ninspect.stack()", "access to the running interpreter (inspect.stack)"),
    ("import gc\ngc.get_objects()", "access to the running interpreter (gc.get_objects)"),
    ("import gc\ngc.get_referrers(sum)",
     "access to the running interpreter (gc.get_referrers)"),
    ("import sys\nsys.settrace(None)", "access to the running interpreter (sys.settrace)"),
    ("import sys\nsys.setprofile(None)", "access to the running interpreter (sys.setprofile)"),
    ("import sys\nsys.modules['shop'] = None",
     "access to the running interpreter (a change to sys.modules)"),
    ("import sys\nsys.modules.update(shop=None)",
     "access to the running interpreter (sys.modules.update)"),
    ("import builtins\nbuiltins.sum = lambda values: 7",
     "access to the running interpreter (a patch of builtins.sum)"),
    ("import builtins\nsetattr(builtins, 'sum', len)",
     "access to the running interpreter (a patch of builtins.sum)"),
    ("__builtins__.sum = len", "access to the running interpreter (__builtins__)"),
    ("import faulthandler\nfaulthandler.enable()",
     "access to the running interpreter (faulthandler)"),
    # Ways around an import statement are followed too.
    ("__import__('os').write(3, b'x')", "a file-descriptor operation (os.write)"),
    ("import os\ngetattr(os, 'write')(3, b'x')", "a file-descriptor operation (os.write)"),
    ("import importlib\nimportlib.import_module('ctypes')", "native code access (ctypes)"),
    ("from os import *\nwrite(3, b'x')", "a file-descriptor operation (os.write)"),
    ("import posix\nposix.write(3, b'x')", "a file-descriptor operation (os.write)"),
    ("import sys\nsys.modules['os'].write(3, b'x')", "a file-descriptor operation (os.write)"),
    ("import os\nvars(os)['write'](3, b'x')", "a file-descriptor operation (os.write)"),
    ("import os\nos.__dict__['dup2'](1, 3)", "a file-descriptor operation (os.dup2)"),
    ("import importlib\nimportlib.__import__('ctypes')", "native code access (ctypes)"),
])
def test_reaching_outside_the_example_is_rejected(added: str, shown: str) -> None:
    candidate = f"{added}\n{PRICES}"
    assert check_intent(PRICES, candidate, error=ASSERTION) == (
        f"adds {shown}, which reaches outside the example")


@pytest.mark.parametrize("added", [
    "import os\nprint(os.path.join('a', 'b'))",
    "open('file.txt', 'w').write('x')",
    "path = 'report.txt'\nopen(path).close()",
    "import io\nio.StringIO('3')",
    "import signal\nprint(signal.SIGINT.name)",
    "import inspect\nprint(inspect.signature(sum))",
    "import gc\ngc.collect()",
    "import sys\nprint(sys.modules['sys'].version_info > (3,))",
    "import os\nprint(os.getpid() > 0)",
])
def test_ordinary_use_of_the_same_modules_is_accepted(added: str) -> None:
    candidate = f"{added}\n{PRICES.replace('7', '6')}"
    assert check_intent(PRICES, candidate, error=ASSERTION) is None


def test_descriptor_use_the_original_had_may_stay() -> None:
    original = '''\
import os

reader, writer = os.pipe()
os.write(writer, b"hi")
os.close(writer)
print(os.read(reader, 3))
#> b'hi!'
'''
    # Same calls under an alias: the same descriptions, so nothing is new.
    candidate = original.replace("import os", "import os as system").replace(
        "os.", "system.").replace("#> b'hi!'", "#> b'hi'")
    assert check_intent(original, candidate, update_output=True) is None
    another = candidate.replace('system.close(writer)', 'system.close(writer)\nsystem.close(3)')
    assert check_intent(original, another, update_output=True) == (
        "adds a file-descriptor operation (os.close), which reaches outside the example")


@pytest.mark.parametrize(("candidate", "name"), [
    ("exec(\"import os; os.write(3, b'x')\")\n" + PRICES, "exec"),
    ('prices = eval("[1, 2, 3]")\nassert sum(prices) == 6\n', "eval"),
    ("exec(compile('prices = [1, 2]', 'x', 'exec'))\nassert sum(prices) == 3\n", "exec"),
    ("import runpy\nrunpy.run_path('check.py')\n" + PRICES, "runpy.run_path"),
])
def test_code_hidden_in_a_string_is_rejected(candidate: str, name: str) -> None:
    assert check_intent(PRICES, candidate) == (
        f"adds a call to {name}(), which runs code the guard cannot read")


# --- rule 6: handlers that swallow the error seen ----------------------------------------------


@pytest.mark.parametrize(("handler", "shown"), [
    ("except AssertionError:", "an `except AssertionError:` handler"),
    ("except (KeyError, AssertionError):", "an `except (KeyError, AssertionError):` handler"),
    ("except AssertionError as exc:", "an `except AssertionError as exc:` handler"),
])
def test_handler_for_the_error_seen_is_rejected(handler: str, shown: str) -> None:
    candidate = ("prices = [1, 2, 3]\ntry:\n    assert sum(prices) == 7\n"
                 f"{handler}\n    print('close enough')\n")
    shown = shown.replace(" as exc", "")  # the class caught is what is shown
    assert check_intent(PRICES, candidate, error=ASSERTION) == (
        f"adds {shown}, which swallows the AssertionError the example raised")


@pytest.mark.parametrize(("handler", "shown"), [
    ("except json.JSONDecodeError:", "an `except json.JSONDecodeError:` handler"),
    ("except ValueError:", "an `except ValueError:` handler"),  # a base of the error
    ("except (TypeError, ValueError):", "an `except (TypeError, ValueError):` handler"),
])
def test_handler_for_a_base_of_the_error_is_rejected(handler: str, shown: str) -> None:
    candidate = PARSE.replace(
        "data = json.loads('{\"a\": 1,}')\n",
        f"try:\n    data = json.loads('{{\"a\": 1,}}')\n{handler}\n    data = {{\"a\": 1}}\n")
    assert check_intent(PARSE, candidate, error=JSON_ERROR) == (
        f"adds {shown}, which swallows the JSONDecodeError the example raised")


def test_suppressing_the_error_seen_is_rejected() -> None:
    candidate = "import contextlib\n" + PRICES.replace(
        "assert", "with contextlib.suppress(AssertionError):\n    assert")
    assert check_intent(PRICES, candidate, error=ASSERTION) == (
        "adds a `contextlib.suppress(AssertionError)` handler, which swallows the "
        "AssertionError the example raised")
    aliased = "from contextlib import suppress as quiet\n" + PRICES.replace(
        "assert", "with quiet(AssertionError):\n    assert")
    assert check_intent(PRICES, aliased, error=ASSERTION) == (
        "adds a `quiet(AssertionError)` handler, which swallows the AssertionError the "
        "example raised")


def test_finally_that_returns_and_exit_that_returns_true_are_rejected() -> None:
    finally_return = '''\
def check(prices):
    try:
        assert sum(prices) == 7
    finally:
        return True


check([1, 2, 3])
'''
    original = finally_return.replace("    try:\n        assert", "    assert").replace(
        "    finally:\n        return True\n", "")
    assert check_intent(original, finally_return, error=ASSERTION) == (
        "adds a `finally:` block that ends in `return`, which swallows the AssertionError "
        "the example raised")
    exit_true = '''\
class Quiet:
    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return True


prices = [1, 2, 3]
with Quiet():
    assert sum(prices) == 7
'''
    assert check_intent(PRICES, exit_true, error=ASSERTION) == (
        "adds an `__exit__` that returns a value, which swallows the AssertionError the "
        "example raised")


def test_a_conditional_raise_does_not_count_as_raising_again() -> None:
    candidate = ("prices = [1, 2, 3]\ntry:\n    assert sum(prices) == 7\n"
                 "except AssertionError:\n    if not prices:\n        raise\n")
    assert check_intent(PRICES, candidate, error=ASSERTION) == (
        "adds an `except AssertionError:` handler, which swallows the AssertionError the "
        "example raised")


def test_running_the_code_at_exit_is_rejected() -> None:
    candidate = ("import atexit\n\n\ndef check():\n" + BODY
                 + "\n\natexit.register(check)\n")
    assert check_intent(PRICES, candidate, error=ASSERTION) == (
        "adds an `atexit.register`, which swallows the AssertionError the example raised")


def test_running_the_code_in_a_thread_is_rejected() -> None:
    # An exception in a thread is printed, not raised: the example would pass.
    candidate = '''\
import threading


def check():
    prices = [1, 2, 3]
    assert sum(prices) == 7


worker = threading.Thread(target=check)
worker.start()
worker.join()
'''
    assert check_intent(PRICES, candidate, error=ASSERTION) == (
        "adds a `threading.Thread`, which swallows the AssertionError the example raised")


def test_handlers_that_do_not_swallow_the_error_are_accepted() -> None:
    fixed = PARSE.replace("1,}", "1}")
    other = fixed.replace("data = json.loads", "try:\n    data = json.loads").replace(
        "print(", "except KeyError:\n    data = {}\nprint(")
    assert check_intent(PARSE, other, error=JSON_ERROR) is None  # another error's handler
    reraise = fixed.replace("data = json.loads", "try:\n    data = json.loads").replace(
        "print(", "except json.JSONDecodeError as exc:\n    print(exc)\n    raise\nprint(")
    assert check_intent(PARSE, reraise, error=JSON_ERROR) is None  # raises it again
    # A handler the original already had may stay.
    original = "try:\n    assert sum([1, 2]) == 4\nexcept AssertionError:\n    print('no')\n"
    assert check_intent(original, original.replace("4", "3"), error=ASSERTION) is None
    # Without the error the guard cannot know; only broad handlers are rejected then.
    swallowed = PRICES.replace("assert", "try:\n    assert") + "except AssertionError:\n    pass\n"
    assert check_intent(PRICES, swallowed) is None
    # A `break` of a loop inside a `finally` does not leave the `finally`.
    loop = "try:\n    total = sum([1, 2, 3])\nfinally:\n    for i in range(3):\n        break\n"
    assert check_intent("total = sum([1, 2, 3])\n", loop, error=ASSERTION) is None


def test_a_broad_handler_is_reported_as_broad() -> None:
    candidate = PRICES.replace("assert", "try:\n    assert") + (
        "except (AssertionError, Exception):\n    pass\n")
    assert check_intent(PRICES, candidate, error=ASSERTION) == (
        "adds a broad `except (AssertionError, Exception):` handler that can hide the error")


# --- rule 7: code that never runs -------------------------------------------------------------

BODY = "    prices = [1, 2, 3]\n    assert sum(prices) == 7\n"


@pytest.mark.parametrize(("wrapped", "reason"), [
    (f"if False:\n{BODY}", "puts code under `if False:`, which never runs"),
    (f"if 0:\n{BODY}", "puts code under `if 0:`, which never runs"),
    (f"if None:\n{BODY}", "puts code under `if None:`, which never runs"),
    (f"if '':\n{BODY}", "puts code under `if '':`, which never runs"),
    (f"if not True:\n{BODY}", "puts code under `if not True:`, which never runs"),
    (f"if 1 == 2:\n{BODY}", "puts code under `if 1 == 2:`, which never runs"),
    (f"if 1 > 2 or ():\n{BODY}", "puts code under `if 1 > 2 or ():`, which never runs"),
    (f"if None is not None:\n{BODY}", "puts code under `if None is not None:`, which never runs"),
    (f"while False:\n{BODY}", "puts code under `while False:`, which never runs"),
    (f"x = input\nif False and x:\n{BODY}", "puts code under `if False and x:`, which never runs"),
    (f"x = input\nif x() and 0:\n{BODY}", "puts code under `if x() and 0:`, which never runs"),
    (f"if True:\n    pass\nelse:\n{BODY}",
     "puts code under the `else` of `if True:`, which never runs"),
    (f"for _ in ():\n{BODY}", "puts code in a loop over `()`, which never runs"),
    (f"for _ in []:\n{BODY}", "puts code in a loop over `[]`, which never runs"),
    (f"for _ in range(0):\n{BODY}", "puts code in a loop over `range(0)`, which never runs"),
    (f"for _ in range(3, 3):\n{BODY}",
     "puts code in a loop over `range(3, 3)`, which never runs"),
    (f"from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n{BODY}",
     "moves code the example ran under `if TYPE_CHECKING:`, which is false when it runs"),
    (f"import typing\nif typing.TYPE_CHECKING:\n{BODY}",
     "moves code the example ran under `if typing.TYPE_CHECKING:`, which is false when it "
     "runs"),
    (f"def _unused():\n{BODY}\n\n_unused\nNAME = '_unused'\n",
     "moves code the example ran into `def _unused`, which is never called"),
    (f"def _unused():\n{BODY}",
     "moves code the example ran into `def _unused`, which is never called"),
    (f"async def _unused():\n{BODY}",
     "moves code the example ran into `async def _unused`, which is never called"),
    (f"async def main():\n{BODY}\n\nmain()\n",
     "moves code the example ran into `async def main`, which is never awaited"),
    (f"def steps():\n{BODY}    yield\n\n\nsteps()\n",
     "moves code the example ran into `def steps`, a generator that is never iterated"),
    (f"class Check:\n    def run(self):\n{BODY.replace('    ', '        ')}\n\nCheck()\n",
     "moves code the example ran into `def run`, which is never called"),
    (f"def outer():\n    def inner():\n{BODY.replace('    ', '        ')}\n    return 1\n"
     "\n\nouter()\n", "moves code the example ran into `def inner`, which is never called"),
    (f"try:\n    pass\nexcept ValueError:\n{BODY}",
     "puts code in an `except` clause of a `try` that raises nothing, where it never runs"),
    ("prices = [1, 2, 3]\nFalse and print(sum(prices) == 7)\n",
     "puts code behind `False and`, where it never runs"),
    ("prices = [1, 2, 3]\nTrue or print(sum(prices) == 7)\n",
     "puts code behind `True or`, where it never runs"),
    ("prices = [1, 2, 3]\nprint(sum(prices) == 7) if 0 else None\n",
     "puts code in the branch of `... if 0 else ...` that is never taken"),
    (f"def _unused():\n    return\n{BODY}", "puts code after `return`, where it never runs"),
    (f"raise ValueError('skip')\n{BODY.replace('    ', '')}",
     "puts code after `raise`, where it never runs"),
    (f"for _ in range(1):\n    continue\n{BODY}",
     "puts code after `continue`, where it never runs"),
    (f"while True:\n    break\n{BODY}", "puts code after `break`, where it never runs"),
])
def test_code_that_never_runs_is_rejected(wrapped: str, reason: str) -> None:
    assert check_intent(PRICES, wrapped, error=ASSERTION) == reason


def test_code_after_a_return_in_a_function_is_rejected() -> None:
    original = '''\
def total(prices):
    subtotal = sum(prices)
    return subtotal * 2


print(total([1, 2]))
#> 6
'''
    candidate = original.replace("    subtotal =", "    return 6\n    subtotal =")
    assert check_intent(original, candidate) == "puts code after `return`, where it never runs"


def test_exit_before_the_code_is_reported_as_the_exit() -> None:
    candidate = "import sys\nsys.exit(0)\n" + PRICES
    assert check_intent(PRICES, candidate, error=ASSERTION) == "adds a call to sys.exit()"


@pytest.mark.parametrize("candidate", [
    # Not constant: these depend on the program.
    "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from decimal import Decimal\n"
    + PRICES.replace("7", "6"),
    "x = 1\nif x == 1:\n" + BODY.replace("7", "6"),
    'if __name__ == "__main__":\n' + BODY.replace("7", "6"),
    "import sys\nif sys.version_info >= (3, 8):\n" + BODY.replace("7", "6"),
    "x = float('nan')\nif x != x:\n    print('nan')\n" + PRICES.replace("7", "6"),
    # Always true: the body runs.
    "if True:\n" + BODY.replace("7", "6"),
    "while True:\n" + BODY.replace("7", "6") + "    break\n",
    # A function that is called, and one that holds only new code.
    "def main():\n" + BODY.replace("7", "6") + "\n\nmain()\n",
    "def helper():\n    return 6\n\n\n" + PRICES.replace("7", "6"),
    "def check():\n" + BODY.replace("7", "6") + '\n\n__all__ = ["check"]\n',
    "def check():\n" + BODY.replace("7", "6") + '\n\nglobals()["check"]()\n',
    "for _ in range(3):\n" + BODY.replace("7", "6"),
    "import asyncio\n\n\nasync def main():\n" + BODY.replace("7", "6")
    + "\n\nasyncio.run(main())\n",
    "def steps():\n" + BODY.replace("7", "6") + "    yield\n\n\nlist(steps())\n",
    "class Check:\n    def run(self):\n" + BODY.replace("7", "6").replace("    ", "        ")
    + "\n\nCheck().run()\n",
    "class Check:\n    def __init__(self):\n"
    + BODY.replace("7", "6").replace("    ", "        ") + "\n\nCheck()\n",
    "try:\n    import numpy\nexcept ImportError:\n    numpy = None\n" + PRICES.replace("7", "6"),
    "prices = [1, 2, 3]\nassert sum(prices) == 6 or print('wrong')\n",
    "prices = [1, 2, 3]\nprint(sum(prices) if prices else 0)\nassert sum(prices) == 6\n",
    # A terminator at the end of its body leaves nothing behind it.
    "def total(values):\n    return sum(values)\n\n\nprices = [1, 2, 3]\n"
    "assert total(prices) == 6\n",
])
def test_code_that_runs_is_accepted(candidate: str) -> None:
    assert check_intent(PRICES, candidate, error=ASSERTION) is None


def test_dead_code_the_original_had_may_stay() -> None:
    original = "DEBUG = False\nif False:\n    print('debug')\n" + PRICES
    assert check_intent(original, original.replace("== 7", "== 6"), error=ASSERTION) is None
    # A function the original never called either.
    original = "def show(prices):\n    print(prices)\n\n\n" + PRICES
    assert check_intent(original, original.replace("== 7", "== 6"), error=ASSERTION) is None


# --- rule 9: unrelated replacement -----------------------------------------------------------


def test_unrelated_replacement_is_rejected() -> None:
    assert check_intent(PRICES, "value = 7\nassert value == 7\n", error=ASSERTION) == (
        "replaces the example with unrelated code that keeps none of its names (`sum`)")
    assert check_intent(REQUESTS, "total = 6\nassert total == 6\n") == (
        "replaces the example with unrelated code that keeps none of its names "
        "(`get`, `raise_for_status`, `json`)")


def test_related_code_is_not_unrelated() -> None:
    # One shared name (even a builtin or a variable) is enough for this rule.
    original = "prices = [1, 2, 3]\nprint(totl(prices))\n#> 6\n"
    error = ErrorInfo("NameError", "name 'totl' is not defined", mro=("builtins.NameError",))
    assert check_intent(original, original.replace("totl", "sum"), error=error) is None
    # An original that calls nothing cannot be replaced by unrelated code.
    assert check_intent("x = 1\n", "y = 2\n") is None


def test_names_proven_missing_do_not_count() -> None:
    original = "fetch_usr(1)\n"
    candidate = "load_user(1)\n"
    assert check_intent(original, candidate) == (
        "replaces the example with unrelated code that keeps none of its names (`fetch_usr`)")
    error = ErrorInfo("NameError", "name 'fetch_usr' is not defined",
                      mro=("builtins.NameError",))
    assert check_intent(original, candidate, error=error) is None


# --- rule 10: trivialised asserts ------------------------------------------------------------


@pytest.mark.parametrize(("original", "candidate", "reason"), [
    ("assert 1 == 2\n", "assert 1 == 1\n", "replaces an assert with `assert 1 == 1`, which is "
     "always true"),
    (PRICES, PRICES.replace("== 7", "== sum(prices)"),
     "replaces an assert with `assert sum(prices) == sum(prices)`, which is always true"),
    (PRICES, PRICES.replace("== 7", "== 7 or True"),
     "replaces an assert with `assert sum(prices) == 7 or True`, which is always true"),
    (PRICES, PRICES.replace("sum(prices) == 7", "isinstance(sum(prices), object)"),
     "replaces an assert with `assert isinstance(sum(prices), object)`, which is always true"),
    (PRICES, PRICES.replace("sum(prices) == 7", "(sum(prices) == 7, 'total')"),
     "replaces an assert with `assert (sum(prices) == 7, 'total')`, which is always true"),
    (PRICES, PRICES.replace("sum(prices) == 7", "'x'"), "removes 1 assert statement (1 -> 0)"),
    (PRICES, PRICES.replace("sum(prices) == 7", "True"), "removes 1 assert statement (1 -> 0)"),
    (PRICES, PRICES.replace("assert sum(prices)", "total = 7\nassert total"),
     "removes the call checked by `assert sum(prices) == 7` (now `assert total == 7`)"),
    (PRICES, PRICES.replace("sum(prices)", "int(7)"),
     "removes the call checked by `assert sum(prices) == 7` (now `assert int(7) == 7`)"),
    (PRICES, PRICES.replace("sum(prices)", "sum([3, 4])"),
     "removes the call checked by `assert sum(prices) == 7` (now `assert sum([3, 4]) == 7`)"),
    (PRICES, PRICES.replace("sum(prices) == 7", "[1] == [1]"),
     "replaces an assert with `assert [1] == [1]`, which is always true"),
    (PRICES, PRICES.replace("sum(prices) == 7", "7 == 7.0"),
     "replaces an assert with `assert 7 == 7.0`, which is always true"),
    ("assert f(1) == 1\nassert f(2) == 4\n", "x = 4\nassert f(1) == 1\nassert x == 4\n"
     "assert x > 0\n", "removes the call checked by `assert f(2) == 4`"),
])
def test_trivialised_assert_is_rejected(original: str, candidate: str, reason: str) -> None:
    assert check_intent(original, candidate, error=ASSERTION) == reason


@pytest.mark.parametrize(("original", "candidate"), [
    ("result = 1 + 1\nassert result == 3\n", "result = 1 + 2\nassert result == 3\n"),
    (PRICES, PRICES.replace("== 7", "== 6")),
    (PRICES, PRICES.replace("[1, 2, 3]", "[1, 2, 4]")),
    (PRICES, PRICES.replace("sum(prices) == 7", "sum(prices) == 6 and len(prices) == 3")),
    ("x = 0.1 + 0.2\nassert x == 0.3\n",
     "import math\nx = 0.1 + 0.2\nassert math.isclose(x, 0.3)\n"),
    ("assert add(1, 2) == 4\n", "def add(a, b):\n    return a + b\n\n\nassert add(1, 2) == 3\n"),
    ("x = 1\nassert x\n", "x = 2\nassert x\n"),
])
def test_real_asserts_are_accepted(original: str, candidate: str) -> None:
    assert check_intent(original, candidate, error=ASSERTION) is None


# --- interactive sessions in a python fence ---------------------------------------------------

SESSION_PY = '''\
>>> prices = [1, 2, 3]
>>> assert sum(prices) == 7
'''


def session_in_python_fence() -> str:
    from docvalidate.sources.document import parse_document
    from docvalidate.sources.markdown import extract

    source = extract(parse_document("doc.md", f"```python\n{SESSION_PY}```\n".encode()),
                     "commonmark")
    (example,) = source.examples
    assert example.language == "python" and example.interactive
    return example.code


@pytest.mark.parametrize(("candidate", "reason"), [
    (">>> prices = [1, 2, 3]\n>>> try:\n...     assert sum(prices) == 7\n"
     "... except AssertionError:\n...     pass\n",
     "adds an `except AssertionError:` handler, which swallows the AssertionError the "
     "example raised"),
    (">>> if False:\n...     prices = [1, 2, 3]\n...     assert sum(prices) == 7\n",
     "puts code under `if False:`, which never runs"),
    (">>> prices = [1, 2, 3]\n>>> assert 7 == 7\n",
     "replaces an assert with `assert 7 == 7`, which is always true"),
    (">>> import os; os.write(3, b'ok')\n>>> prices = [1, 2, 3]\n>>> assert sum(prices) == 7\n",
     "adds a file-descriptor operation (os.write), which reaches outside the example"),
    (">>> value = 7\n>>> value\n7\n",
     "replaces the example with unrelated code that keeps none of its names (`sum`)"),
])
def test_hollow_session_in_a_python_fence_is_rejected(candidate: str, reason: str) -> None:
    original = session_in_python_fence()
    assert check_intent(original, candidate, interactive=True, error=ASSERTION) == reason


def test_session_repaired_in_a_python_fence_is_accepted() -> None:
    original = session_in_python_fence()
    assert check_intent(original, original.replace("7", "6"), interactive=True,
                        error=ASSERTION) is None


@pytest.mark.parametrize("candidate", [
    "prices = [1, 2, 3]\nassert sum(prices) == 6\n",  # the prompts dropped: plain code
    "",
    "The session was removed.\n",
])
def test_session_without_prompts_is_rejected(candidate: str) -> None:
    assert check_intent(SESSION_PY, candidate, interactive=True, error=ASSERTION) == (
        "the repair is not a valid interactive session: it has no `>>>` prompts "
        "(the original had 2)")


def test_a_session_is_guarded_even_when_the_caller_says_otherwise() -> None:
    hollow = ">>> if False:\n...     prices = [1, 2, 3]\n...     assert sum(prices) == 7\n"
    assert check_intent(SESSION_PY, hollow, error=ASSERTION) == (
        "puts code under `if False:`, which never runs")


# --- order of the rules ---------------------------------------------------------------------


@pytest.mark.parametrize(("candidate", "reason"), [
    # reaches outside, and never runs the code: the addition is named
    ("import os\nos.write(3, b'{}')\nif False:\n" + BODY,
     "adds a file-descriptor operation (os.write), which reaches outside the example"),
    # swallows the error, and makes an assert always true: the handler is named
    ("prices = [1, 2, 3]\ntry:\n    assert 7 == 7\nexcept AssertionError:\n    pass\n",
     "adds an `except AssertionError:` handler, which swallows the AssertionError the "
     "example raised"),
    # unrelated, fewer asserts and shorter: unrelated says it all
    ("print('ok')\n",
     "replaces the example with unrelated code that keeps none of its names (`sum`)"),
    # never runs, and fewer real asserts: where the code went is named
    ("if False:\n    prices = [1, 2, 3]\n    assert sum(prices) == 7\nassert True\n",
     "puts code under `if False:`, which never runs"),
])
def test_the_most_specific_reason_is_reported(candidate: str, reason: str) -> None:
    assert check_intent(PRICES, candidate, error=ASSERTION) == reason


@pytest.mark.parametrize(("candidate", "shown"), [
    ('print("\x1b[2J")\n', "\\x1b"),
    ('print(1)  # \u202e evil\n', "\\u202e"),
    ("print(1)\r\n", "\\r"),
    ('print(1)\n#> \x07\n', "\\x07"),
])
def test_characters_with_no_place_in_a_document_are_refused(candidate: str, shown: str):
    reason = check_intent("print(1)\n", candidate, update_output=True)
    assert reason == f"adds characters that have no place in a document ({shown})"


def test_characters_the_original_had_may_stay():
    original = 'print("\x1b[1mbold\x1b[0m")\n'
    assert check_intent(original, original.replace("bold", "bolder")) is None
