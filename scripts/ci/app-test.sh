#!/usr/bin/env bash
# The test:app job, once per PYTHON_VERSION of its parallel:matrix: the sample app's unittest
# suite (app/tests, Flask's test client, no network) under coverage.py. It leaves, at the
# checkout's root, coverage.xml (Cobertura, artifacts:reports:coverage_report) and junit-app.xml
# (artifacts:reports:junit), and prints coverage.py's TOTAL line, which the job's `coverage:`
# regex reads. A failing test fails the job, after the reports are written.
#
# Which Python: APP_TEST_PYTHON when set; otherwise the first of python$PYTHON_VERSION, python3,
# /usr/bin/python3 that imports Flask and coverage, preferring one of PYTHON_VERSION. In an image
# (CI_JOB_IMAGE set: python:<version>-slim when DELIVERY_CI_IMAGE is set, app/ci-image.yml) it
# must be that version; on a shell runner the job tests with the Python the host has and says so.
# APP_TEST_PIP_INSTALL=true (set in that image) installs app/requirements-test.txt with pip first
# when Flask or coverage is missing; a host is never changed.
#
# It needs only Python, not the project's Node or engine: unlike the other jobs it does not
# source lib.sh (env.sh wants the engine's versions), but it logs and fails the same way.
set -euo pipefail

DELIVERY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
APP_DIR="$DELIVERY_ROOT/app"
COVERAGE_XML="$DELIVERY_ROOT/coverage.xml"
JUNIT_XML="$DELIVERY_ROOT/junit-app.xml"

ci_log() { printf '[ci] %s\n' "$*"; }
ci_die() { printf '[ci] error: %s\n' "$*" >&2; exit 1; }

want=${PYTHON_VERSION-}
[[ -z $want || $want =~ ^[0-9]+\.[0-9]+$ ]] ||
    ci_die "PYTHON_VERSION must be a version such as 3.11 (got '$want'); it comes from test:app's parallel:matrix"
[[ -d $APP_DIR/tests ]] || ci_die "no app/tests directory in $DELIVERY_ROOT: nothing to test"

# probe <python>: prints "<major.minor> <flask 0|1> <coverage 0|1> <full version>"; fails when
# the command cannot run at all (missing, or a pyenv shim of a version that is not installed).
probe() {
    "$1" - 2>/dev/null <<'EOF'
import importlib.util, platform, sys
has = lambda m: int(importlib.util.find_spec(m) is not None)
print("%d.%d" % sys.version_info[:2], has("flask"), has("coverage"), platform.python_version())
EOF
}

candidates=()
if [[ -n ${APP_TEST_PYTHON-} ]]; then
    candidates=("$APP_TEST_PYTHON")
else
    [[ -n $want ]] && candidates+=("python$want")
    candidates+=(python3 /usr/bin/python3)
fi

# pick: the first candidate of PYTHON_VERSION with Flask and coverage, else the first with both,
# else the first with Flask (coverage is then named as missing). Sets py, py_version, py_has_cov.
tried=() py="" py_version="" py_has_cov=0
pick() {
    local c info major_minor flask cov full best_rank=0 rank path
    tried=() py="" py_version="" py_has_cov=0
    for c in "${candidates[@]}"; do
        if ! info=$(probe "$c"); then
            tried+=("$c: not found")
            continue
        fi
        read -r major_minor flask cov full <<<"$info"
        path=$(command -v "$c" || printf '%s' "$c")
        tried+=("$c ($path): Python $full, flask $([[ $flask == 1 ]] && echo yes || echo no), coverage $([[ $cov == 1 ]] && echo yes || echo no)")
        [[ $flask == 1 ]] || continue
        rank=1
        [[ $cov == 1 ]] && rank=2
        [[ $cov == 1 && ( -z $want || $major_minor == "$want" ) ]] && rank=3
        if ((rank > best_rank)); then
            best_rank=$rank py=$path py_version=$full py_has_cov=$cov
        fi
    done
}

tried_list() { printf '  - %s\n' "${tried[@]}" >&2; }

pick
if [[ ${APP_TEST_PIP_INSTALL-} == true && ( -z $py || $py_has_cov == 0 ) ]]; then
    pip_python=${py:-${candidates[0]}}
    ci_log "installing the tests' requirements with pip into $pip_python (APP_TEST_PIP_INSTALL=true): app/requirements-test.txt"
    "$pip_python" -m pip install --quiet --disable-pip-version-check --no-cache-dir -r "$APP_DIR/requirements-test.txt" ||
        ci_die "pip could not install app/requirements-test.txt into $pip_python (see above)"
    pick
fi

if [[ -z $py ]]; then
    tried_list
    ci_die "no Python here can import Flask (tried the interpreters above). Install the app's test requirements: on Debian apt-get install python3-flask python3-coverage; elsewhere python3 -m pip install -r app/requirements-test.txt; or set APP_TEST_PYTHON to an interpreter that has them."
fi
if [[ $py_has_cov == 0 ]]; then
    tried_list
    ci_die "coverage.py is missing for $py (Python $py_version), and the job's coverage and Cobertura reports come from it. Install it: on Debian apt-get install python3-coverage; elsewhere $py -m pip install 'coverage>=7.4,<8' (app/requirements-test.txt). The tests alone run without it: (cd app && $py -m unittest discover -s tests)"
fi

ci_log "interpreters looked at:"
printf '[ci]   - %s\n' "${tried[@]}"
got=${py_version%.*}
if [[ -n $want && $got != "$want" ]]; then
    if [[ -n ${CI_JOB_IMAGE-} ]]; then
        tried_list
        ci_die "PYTHON_VERSION is $want, but the job's image $CI_JOB_IMAGE has Python $py_version at $py; give the job an image of Python $want (app/ci-image.yml maps PYTHON_VERSION to python:<version>-slim)"
    fi
    ci_log "PYTHON_VERSION $want asked, but this runner has no Python $want with Flask and coverage; on a shell runner the job tests with the Python the host has: Python $py_version ($py). Give the job an image (DELIVERY_CI_IMAGE set: python:$want-slim) to test $want itself."
fi
ci_log "testing the app with Python $py_version ($py), $("$py" -c 'import flask, coverage; print("flask", flask.__version__ if hasattr(flask, "__version__") else "?", "coverage", coverage.__version__)' 2>/dev/null)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -f "$COVERAGE_XML" "$JUNIT_XML"

# unittest's own runner, with each test's outcome and time kept for a JUnit report (unittest
# writes none, and a JUnit package would be one more thing each image needs).
cat >"$work/run_tests.py" <<'EOF'
import platform, sys, time, unittest
from xml.etree import ElementTree as ET

start_dir, junit_path = sys.argv[1:3]


class Result(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cases, self._started = [], {}

    def startTest(self, test):
        self._started[test.id()] = time.perf_counter()
        super().startTest(test)

    def _record(self, test, kind, text="", err=None):
        began = self._started.pop(test.id(), None)
        # The message: the exception's type and first line ('AssertionError: 'OK' != 'ok''), or the text's.
        first = (str(err[1]).strip().splitlines() or [""])[0] if err else ""
        message = "%s: %s" % (err[0].__name__, first) if err else (text.strip().splitlines() or [kind])[0]
        self.cases.append((test.id(), 0.0 if began is None else time.perf_counter() - began, kind, text, message))

    def addSuccess(self, test):
        super().addSuccess(test)
        self._record(test, "ok")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._record(test, "failure", self.failures[-1][1], err)

    def addError(self, test, err):
        super().addError(test, err)
        self._record(test, "error", self.errors[-1][1], err)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._record(test, "skipped", reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._record(test, "ok")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._record(test, "failure", "unexpected success")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            kind = "failure" if issubclass(err[0], test.failureException) else "error"
            self._record(subtest, kind, (self.failures if kind == "failure" else self.errors)[-1][1], err)


suite = unittest.TestLoader().discover(start_dir, top_level_dir=".")
result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2, resultclass=Result).run(suite)

count = lambda kind: sum(1 for c in result.cases if c[2] == kind)
name = "app tests (Python %s)" % platform.python_version()
totals = {
    "name": name,
    "tests": str(len(result.cases)),
    "failures": str(count("failure")),
    "errors": str(count("error")),
    "skipped": str(count("skipped")),
    "time": "%.3f" % sum(c[1] for c in result.cases),
}
root = ET.Element("testsuites", totals)
suite_el = ET.SubElement(root, "testsuite", totals)
for test_id, seconds, kind, text, message in result.cases:
    classname, _, method = test_id.rpartition(".")
    case = ET.SubElement(suite_el, "testcase", {"classname": classname, "name": method, "time": "%.3f" % seconds})
    if kind in ("failure", "error", "skipped"):
        child = ET.SubElement(case, kind, {"message": message})
        if kind != "skipped":
            child.text = text
ET.ElementTree(root).write(junit_path, encoding="utf-8", xml_declaration=True)

if result.testsRun == 0:
    print("no tests found under %s" % start_dir, file=sys.stderr)
    sys.exit(1)
sys.exit(0 if result.wasSuccessful() else 1)
EOF

cd "$APP_DIR"
export COVERAGE_FILE="$work/.coverage"
status=0
"$py" -m coverage run --rcfile=.coveragerc "$work/run_tests.py" tests "$JUNIT_XML" || status=$?
# The reports are written whatever the outcome, so GitLab shows the failed tests and the coverage.
if [[ -f $COVERAGE_FILE ]]; then
    "$py" -m coverage report --rcfile=.coveragerc --show-missing
    "$py" -m coverage xml --rcfile=.coveragerc -q -o "$COVERAGE_XML"
    ci_log "coverage report: coverage.xml (Cobertura); test report: junit-app.xml"
fi
((status == 0)) || ci_die "the app's tests failed with Python $py_version (see above; junit-app.xml lists them); the image is not built"
ci_log "app tests passed with Python $py_version"
