#!/usr/bin/python3
"""checks.py - how every python test of runnel reports a check.

    from checks import check, FAILS, finish
    check("XLEN after restart", got == 1000, got)
    sys.exit(finish("kill9"))

One line per check ("ok   what" or "FAIL what: detail"), flushed at once so
a test killed by ctest's TIMEOUT still shows how far it got; the failed
names are kept in FAILS, the passed ones in PASSED. finish() prints the
summary line and returns the exit status (0 pass, 1 fail). A test that
could not run at all exits 77 itself (ctest SKIP_RETURN_CODE), never 0.
"""

FAILS = []
PASSED = []


def check(what, ok, detail=""):
    """Records and prints one check; returns `ok` so callers can branch."""
    ok = bool(ok)
    (PASSED if ok else FAILS).append(what)
    tail = "" if ok or detail in ("", None) else ": %s" % (detail,)
    print("  %s %s%s" % ("ok  " if ok else "FAIL", what, tail), flush=True)
    return ok


def finish(label=""):
    """The summary line and the exit status: 1 if any check failed, or if
    none ran at all (a test that checked nothing has not passed)."""
    name = (label + ": ") if label else ""
    if FAILS:
        print("%sFAILED %d of %d checks: %s" % (name, len(FAILS), len(FAILS) + len(PASSED),
                                              "; ".join(FAILS)), flush=True)
        return 1
    if not PASSED:
        print("%sFAILED: no check ran" % name, flush=True)
        return 1
    print("%sPASS (%d checks)" % (name, len(PASSED)), flush=True)
    return 0
