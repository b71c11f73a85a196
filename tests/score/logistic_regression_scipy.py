"""The detector's logistic regression (include/collapse/score/detector.h) fitted by SciPy, for
tests/score/detector_test.cpp.

Usage: logistic_regression_scipy.py INPUT.json, where INPUT is a list of cases, each holding "x"
(rows of features), "real" (one bool per row) and "c". Per case, the features are standardised
by their mean and population standard deviation (a constant feature keeps scale 1) and
  1/2 ||w||^2 + c * sum_i s_i * log(1 + exp(-y_i (w . z_i + b))),  s_i = n / (2 n_class(i)),
is minimised by scipy.optimize.minimize (L-BFGS-B with the exact gradient, tolerances at
rounding). Prints {"scipy": version, "fits": [{"weights", "bias", "objective"} per case]}.
Exit 0: fitted; 77: numpy or scipy not importable (the test skips, or fails under CI)."""
import json
import sys

try:
    import numpy as np
    import scipy
    from scipy.optimize import minimize
except ImportError as error:
    print(f"cannot import: {error}")
    sys.exit(77)

with open(sys.argv[1]) as f:
    cases = json.load(f)
fits = []
for case in cases:
    x = np.asarray(case["x"], dtype=np.float64)
    real = np.asarray(case["real"], dtype=bool)
    c = float(case["c"])
    n, d = x.shape
    scale = x.std(axis=0)
    scale[~(scale > 1e-12)] = 1.0
    z = (x - x.mean(axis=0)) / scale
    y = np.where(real, 1.0, -1.0)
    s = np.where(real, n / (2.0 * real.sum()), n / (2.0 * (~real).sum()))

    def objective(theta):
        w, b = theta[:d], theta[d]
        m = y * (z @ w + b)
        value = 0.5 * w @ w + c * np.sum(s * np.logaddexp(0.0, -m))
        g = -c * s * y * scipy.special.expit(-m)  # d loss / d margin
        return value, np.concatenate([w + z.T @ g, [g.sum()]])

    result = minimize(objective, np.zeros(d + 1), jac=True, method="L-BFGS-B",
                      options={"maxiter": 100000, "ftol": 1e-15, "gtol": 1e-12, "maxcor": 50})
    fits.append({"weights": result.x[:d].tolist(), "bias": float(result.x[d]),
                 "objective": float(result.fun)})
print(json.dumps({"scipy": scipy.__version__, "fits": fits}))
