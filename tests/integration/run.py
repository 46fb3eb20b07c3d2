#!/usr/bin/python3
"""Runs the integration tests against a running stack.

    tests/integration/run.py --env DIR/stack.env [--kind KIND] [-k PATTERN] [MODULE...]

Loads the stack's environment, discovers the test_*.py modules here (the
database restart module last, since it takes the database away), and prints
one line per test, "PASS: integration[KIND]: module.test" or "FAIL: ..." with
the failure, then a last line "N passed, N failed". Exit 1 if any failed."""

import argparse
import os
import sys
import time
import traceback
import unittest

sys.dont_write_bytecode = True  # keep the source tree clean

HERE = os.path.dirname(os.path.abspath(__file__))
LAST = ["test_db_restart"]  # modules that disturb the stack run at the end

sys.path.insert(0, HERE)
import gw  # noqa: E402  (reads the environment only when asked)



def module_names(selected):
    names = sorted(fn[:-3] for fn in os.listdir(HERE)
                   if fn.startswith("test_") and fn.endswith(".py"))
    if selected:
        wanted = [s[:-3] if s.endswith(".py") else os.path.basename(s) for s in selected]
        names = [n for n in names if n in wanted]
    return [n for n in names if n not in LAST] + [n for n in LAST if n in names]


def iter_tests(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from iter_tests(t)
        else:
            yield t


class LineResult(unittest.TestResult):
    """Prints one PASS/FAIL line per test method (subtest failures fold into
    their test), flushing as it goes so a hang shows where it is."""

    def __init__(self, kind):
        super().__init__()
        self.kind = kind
        self.passed = 0
        self.failed = 0
        self._problems = []
        self._start = 0.0

    def name(self, test):
        if isinstance(test, unittest.case._SubTest):
            test = test.test_case
        tid = test.id()  # module.Class.method
        parts = tid.split(".")
        if len(parts) >= 3:
            return "%s.%s" % (parts[0], parts[-1])
        return tid

    def startTest(self, test):
        super().startTest(test)
        self._problems = []
        self._start = time.monotonic()

    def _problem(self, test, err, what="", sub=None):
        # unittest's own formatting drops its internal frames.
        text = self._exc_info_to_string(err, test) if isinstance(err, tuple) else str(err)
        label = what + (" %s" % sub._subDescription() if sub is not None else "")
        self._problems.append((label.strip(), text))

    def addError(self, test, err):
        if isinstance(test, unittest.suite._ErrorHolder):
            # setUpClass/tearDownClass failed: report it as its own failing line.
            self.failed += 1
            print("FAIL: integration[%s]: %s" % (self.kind, test.description), flush=True)
            print(indent("".join(traceback.format_exception(*err))), flush=True)
            return
        self._problem(test, err, "error")

    def addFailure(self, test, err):
        self._problem(test, err)

    def addSubTest(self, test, subtest, err):
        if err is not None:
            self._problem(test, err, sub=subtest)

    def addSkip(self, test, reason):
        self._problems.append(("skipped", reason))

    def addExpectedFailure(self, test, err):
        pass

    def addUnexpectedSuccess(self, test):
        self._problems.append(("unexpected success", ""))

    def stopTest(self, test):
        super().stopTest(test)
        secs = time.monotonic() - self._start
        if self._problems:
            self.failed += 1
            print("FAIL: integration[%s]: %s (%.1fs)" % (self.kind, self.name(test), secs),
                  flush=True)
            for label, text in self._problems:
                if label:
                    print("  " + label, flush=True)
                print(indent(text.rstrip()), flush=True)
        else:
            self.passed += 1
            print("PASS: integration[%s]: %s" % (self.kind, self.name(test)), flush=True)


def indent(text):
    return "\n".join("    " + line for line in text.splitlines())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--env", help="stack.env of the running stack")
    ap.add_argument("--kind", default=os.environ.get("AIGW_SERVER", "stack"),
                    help="label for the result lines (the web server kind)")
    ap.add_argument("-k", dest="pattern", action="append",
                    help="only tests whose name contains PATTERN (repeatable)")
    ap.add_argument("modules", nargs="*", help="test modules to run (default: all)")
    args = ap.parse_args()
    if args.env:
        gw.load_env(args.env)
        if args.kind == "stack" and os.environ.get("AIGW_SERVER"):
            args.kind = os.environ["AIGW_SERVER"]
    sys.path.insert(0, HERE)

    loader = unittest.TestLoader()
    if args.pattern:
        loader.testNamePatterns = ["*%s*" % p for p in args.pattern]
    suite = unittest.TestSuite()
    result = LineResult(args.kind)
    for name in module_names(args.modules):
        try:
            suite.addTests(loader.loadTestsFromName(name))
        except Exception:
            result.failed += 1
            print("FAIL: integration[%s]: %s (import)" % (args.kind, name), flush=True)
            print(indent(traceback.format_exc()), flush=True)
    suite.run(result)
    print("%d passed, %d failed" % (result.passed, result.failed), flush=True)
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main())
