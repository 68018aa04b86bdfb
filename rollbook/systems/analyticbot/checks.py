"""The runbook's validation after a rollback or enable (``judge``)."""

import json

from ...host.verify import AfterStep, Decision
from .request import AnalyticbotRequest, effective

RUNBOOK = "runbook 004"
# the runbook's troubleshooting issues and decision matrix, as the checks meet them (``verify.decided``)
DECISIONS = (
    Decision(r"^process environment differs", f"{RUNBOOK}, Issue 1", "Changed flags but API still using old "
             "values", "the process did not re-read the env file: a re-run restarts it (systemctl daemon-reload, "
             "restart) and checks /proc/PID/environ again"),
    Decision(r"^log shows", f"{RUNBOOK}, Issue 4", "If still showing True, API may be caching environment",
             "stop every uvicorn of the API (pkill -9 -f uvicorn), start the unit, then re-run"),
    Decision(r"^/\S* \d+ |ERROR line\(s\) since the restart", f"{RUNBOOK}, Issue 2", "API crashes on startup. "
             "Common causes: 1. Syntax error in .env 2. Missing dependency 3. Database connection error",
             "read the service's log in this run's history (rollbook incident), fix the cause, re-run"),
    Decision(r"present \(want absent\)", f"{RUNBOOK}, Issue 4", "If master flag is true but sub-flag is false, "
             "system should respect it", "compare the three ENABLE_ flags in the env file and the process; if the "
             "API ignores a sub-flag, roll back every feature (--data analyticbot_features=all)"),
    Decision(r"^best-times answered in", f"{RUNBOOK}, Rollback Decision Matrix", "Response time > 5s | HIGH | "
             "Quick rollback (disable all)", "--data analyticbot_features=all (deploys/analyticbot_rollback.py)"),
)

AFTER = (f"{RUNBOOK}, Post-Rollback Checklist", (
    AfterStep("Health endpoint responding (200 OK)", r"^/\S* 200 healthy"),
    AfterStep("Feature flags confirmed disabled in logs", r"^log shows 'Feature flags"),
    AfterStep("No errors in last 100 log lines", r"^no ERROR in the log"),
    AfterStep("Response times < 2 seconds", r"^best-times answered in"),
    AfterStep("Test recommendations returning data", r"^best-times answers 200"),
    AfterStep("Monitoring dashboards showing normal metrics"),
    AfterStep("Alert channels notified of rollback"),
    AfterStep("Incident report created (if applicable)"),
    AfterStep("Root cause analysis scheduled"),
    AfterStep("Code bugs: full code rollback upstream (the Rollback Decision Matrix's last row): rollbook rolls "
              "back this host's release (analyticbot_release), it reverts nothing upstream"),
))


def flags_line(values: dict[str, str]) -> str:
    on = effective(values)
    return (f"Feature flags - Advanced: {on['advanced']}, Time-weighting: {on['time_weighting']}, "
            f"Content-type: {on['content_type']}")


def _answered(body: str, name: str):
    """Field ``name`` of a JSON answer (None when the answer is no JSON object)."""
    try:
        return json.loads(body or "{}").get(name)
    except (ValueError, AttributeError):
        return None


def judge(request: AnalyticbotRequest, expected: dict[str, str]):
    """The checks of a run's effect: the process environment, the log's ``Feature flags`` line and its
    errors, ``/health`` (after a release change, its version is the checkout's: a compose service must
    have been rebuilt), and the best-times answer (its advanced fields, its response time)."""
    on = effective(expected)

    def checks(seen) -> list[tuple[bool, str]]:
        running = seen.running or {}
        wrong = [f"{key}={running.get(key)!r} (want {value!r})" for key, value in expected.items()
                 if running.get(key) != value]
        result = [(seen.running is not None and not wrong,
                   "process environment holds " + ", ".join(f"{k}={v}" for k, v in expected.items())
                   if not wrong else f"process environment differs: {', '.join(wrong)}")]
        flag_lines = [line for line in seen.log_tail if "Feature flags" in line]
        want = flags_line(expected)
        result.append((bool(flag_lines) and flag_lines[0].endswith(want),
                       f"log shows '{want}'" if flag_lines and flag_lines[0].endswith(want)
                       else f"log shows {flag_lines[0] if flag_lines else 'no Feature flags line'!r}, want '{want}'"))
        errors = [line for line in seen.log_tail if "ERROR" in line]
        result.append((not errors, "no ERROR in the log since the restart" if not errors
                       else f"{len(errors)} ERROR line(s) since the restart: {errors[-1]!r}"))
        status = _answered(seen.health, "status")
        result.append((seen.health_code == 200 and status == "healthy", f"{request.settings.health_path} {seen.health_code} {status}"))
        if request.release is not None and request.settings.version_file:
            running, want = str(_answered(seen.health, "version") or ""), seen.checkout_version
            result.append((bool(want) and running == want,
                           f"running release {running or 'unknown'} (the checkout of {request.release}: "
                           f"{request.settings.version_file} {want or 'unreadable'})"))
        data = _answered(seen.best_times, "data") or {}
        result.append((seen.best_times_code == 200, f"best-times answers {seen.best_times_code}"))
        for unit, field in request.settings.feature_fields.items():
            present = field in data
            result.append((present == on[unit], f"{field} {'present' if present else 'absent'}"
                           f"{'' if present == on[unit] else ' (want ' + ('present' if on[unit] else 'absent') + ')'}"))
        result.append((seen.best_times_seconds <= request.max_seconds,
                       f"best-times answered in {seen.best_times_seconds:.3f}s (limit {request.max_seconds:g}s)"))
        return result

    return checks
