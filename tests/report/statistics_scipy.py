"""SciPy's and statsmodels' answers for tests/report/statistics_test.cpp
(include/collapse/report/statistics.h).

Usage: statistics_scipy.py INPUT.json, INPUT holding
  "cdf": [[t, dof], ...]            -> scipy.stats.t.cdf(t, dof)
  "quantile": [[p, dof], ...]       -> scipy.stats.t.ppf(p, dof)
  "paired": [[a, b], ...]           -> scipy.stats.ttest_rel(a, b): p, CI of mean(a - b)
  "welch": [[a, b], ...]            -> scipy.stats.ttest_ind(a, b, equal_var=False): p, CI, dof
  "holm": [[p, ...], ...]           -> statsmodels multipletests(p, method="holm")[1]
  "slopes": [[x, y], ...]           -> scipy.stats.linregress(x, y).slope
Prints the answers as JSON with the same keys. Exit 77: scipy or statsmodels not importable
(the test skips, or fails under CI)."""
import json
import sys

try:
    import numpy as np
    from scipy import stats
    from statsmodels.stats.multitest import multipletests
except ImportError as error:
    print(f"cannot import: {error}")
    sys.exit(77)

with open(sys.argv[1]) as f:
    cases = json.load(f)


def test(result):
    ci = result.confidence_interval(0.95)
    return {"p": float(result.pvalue), "ci_low": float(ci.low), "ci_high": float(ci.high),
            "dof": float(result.df)}


print(json.dumps({
    "cdf": [float(stats.t.cdf(t, dof)) for t, dof in cases["cdf"]],
    "quantile": [float(stats.t.ppf(p, dof)) for p, dof in cases["quantile"]],
    "paired": [test(stats.ttest_rel(a, b)) for a, b in cases["paired"]],
    "welch": [test(stats.ttest_ind(a, b, equal_var=False)) for a, b in cases["welch"]],
    "holm": [multipletests(np.asarray(p), method="holm")[1].tolist() for p in cases["holm"]],
    "slopes": [float(stats.linregress(x, y).slope) for x, y in cases["slopes"]],
}))
