"""Class-balanced logistic regression on a few hundred rows of a few hundred columns, by Newton's method.

Cross-validation in the span of the training rows (`linear.RowSpace`) leaves small dense
problems: n fragments in at most n span coordinates. `capcode evaluate` solves thousands of
them (outer folds x inner folds x C x dimensions x designs); scikit-learn's L-BFGS spends
most of each fit in input checks and dozens of small iterations. The objective here is
scikit-learn's, exactly: C times the class-weighted log loss ("balanced": n / (classes x
count) per class) plus half the squared norm of the coefficients, intercepts not
penalised; binomial for two classes (one coefficient row for `classes[1]`), multinomial
(softmax, a row per class) above. It is strictly convex in the coefficients, so Newton's
method with a backtracking line search reaches the same optimum in about ten steps of an
(r+1)k-sized linear system, to a gradient far below scikit-learn's tolerance.

Multinomial intercepts are defined only up to a common shift; the solution is the one whose
intercepts sum to zero (what scikit-learn's L-BFGS, started from zeros, converges to).
`tests/test_newton.py` compares the probabilities with scikit-learn's on every design family.
"""

import numpy as np
from scipy.linalg.lapack import dpotrf as potrf
from scipy.linalg.lapack import dpotrs as potrs
from scipy.special import expit, log_expit, softmax

MAX_STEPS = 100
ROUNDING = 1e-13  # a decrease of the objective smaller than this (relative) is lost in rounding its value
GRADIENT_TOL = 1e-9  # largest gradient entry, relative to C x (sum of weights): far below L-BFGS's 1e-4


def balanced_weights(codes: np.ndarray, n_classes: int) -> np.ndarray:
    """scikit-learn's class_weight='balanced' per row: n / (classes x rows of the row's class)."""
    counts = np.bincount(codes, minlength=n_classes).astype(np.float64)
    return (len(codes) / (n_classes * counts))[codes]


def fit_balanced_logistic(features, codes, n_classes: int, c: float, start=None):
    """(coefficients classes' x r, intercepts classes', Newton steps) minimising scikit-learn's objective.

    `codes`: each row's class number (0..n_classes-1, every class present); classes' = 1 for
    two classes (the row of class 1), else n_classes. `start`: (coefficients, intercepts)
    to begin from (a warm start along the C path), else zeros.
    """
    Z = np.hstack([np.asarray(features, dtype=np.float64), np.ones((len(codes), 1))])
    weights = c * balanced_weights(np.asarray(codes), n_classes)
    if n_classes == 2:
        problem = Binomial(Z, np.asarray(codes) == 1, weights)
    else:
        problem = Multinomial(Z, np.asarray(codes), n_classes, weights)
    theta = np.zeros(problem.size) if start is None else problem.pack(*start)
    scale = max(1.0, float(weights.sum()))
    value, gradient = problem.value_gradient(theta)
    steps = 0
    while steps < MAX_STEPS and np.abs(gradient).max() > GRADIENT_TOL * scale:
        direction = -newton_step(problem.hessian(theta), gradient)
        slope = float(gradient @ direction)
        if slope >= 0:  # numerically flat: nothing left to gain
            break
        step = 1.0
        while True:
            new_theta = theta + step * direction
            new_value, new_gradient = problem.value_gradient(new_theta)
            if new_value <= value + 1e-4 * step * slope or step < 1e-10:
                break
            if -step * slope <= ROUNDING * max(1.0, abs(value)) and \
                    np.abs(new_gradient).max() < np.abs(gradient).max():
                break  # a decrease below what the value can show: the smaller gradient decides (no stall)
            step *= 0.5
        theta, value, gradient = new_theta, new_value, new_gradient
        steps += 1
    coefficients, intercepts = problem.unpack(theta)
    return coefficients, intercepts, steps


def newton_step(hessian, gradient) -> np.ndarray:
    """hessian⁻¹ gradient for a symmetric positive definite Hessian (both objectives' are), by
    Cholesky (LAPACK potrf and potrs: half the arithmetic of LU, about half the time at the sizes
    of cross-validation's fits); by LU where the factorisation finds it not numerically positive
    definite. Its lower triangle is read."""
    factor, info = potrf(hessian, lower=1, clean=0)
    if info == 0:
        solution, info = potrs(factor, gradient, lower=1)
        if info == 0:
            return solution
    return np.linalg.solve(hessian, gradient)


class Binomial:
    """C x weighted binomial log loss of sigmoid(Z theta) + half the squared coefficients (not the intercept)."""

    def __init__(self, Z, positive, weights):
        self.Z, self.sign, self.weights = Z, np.where(positive, 1.0, -1.0), weights
        self.penalised = np.ones(Z.shape[1])
        self.penalised[-1] = 0.0
        self.size = Z.shape[1]
        self._last = (None, None)  # (theta, Z @ theta) of the last value_gradient

    def pack(self, coefficients, intercepts):
        return np.append(np.ravel(coefficients), np.ravel(intercepts)[:1])

    def unpack(self, theta):
        return theta[None, :-1].copy(), theta[-1:].copy()

    def value_gradient(self, theta):
        scores = self.Z @ theta
        self._last = (theta, scores)  # the Hessian is asked for at the point a step was accepted
        margin = self.sign * scores
        value = -float(self.weights @ log_expit(margin)) + 0.5 * float(self.penalised @ theta**2)
        gradient = self.Z.T @ (-self.weights * self.sign * expit(-margin)) + self.penalised * theta
        return value, gradient

    def hessian(self, theta):
        p = expit(self._last[1] if self._last[0] is theta else self.Z @ theta)
        H = (self.Z.T * (self.weights * p * (1.0 - p))) @ self.Z
        H[np.diag_indices(self.size)] += self.penalised  # what adding np.diag(penalised) gives, without the matrix
        return H


class Multinomial:
    """C x weighted softmax log loss + half the squared coefficients; theta holds a row (r+1) per class.

    Adds half the squared sum of the intercepts: zero at the optimum it picks (intercepts
    summing to zero, probabilities unchanged), it makes the Hessian invertible."""

    def __init__(self, Z, codes, n_classes, weights):
        self.Z, self.weights, self.k = Z, weights, n_classes
        self.onehot = np.eye(n_classes)[codes]
        self.width = Z.shape[1]
        self.size = n_classes * self.width
        self.penalised = np.tile(np.r_[np.ones(self.width - 1), 0.0], n_classes)
        self._last = (None, None)  # (theta, probabilities) of the last value_gradient

    def pack(self, coefficients, intercepts):
        return np.hstack([np.asarray(coefficients), np.asarray(intercepts)[:, None]]).ravel()

    def unpack(self, theta):
        rows = theta.reshape(self.k, self.width)
        return rows[:, :-1].copy(), rows[:, -1] - rows[:, -1].mean()

    def _scores(self, theta):
        return self.Z @ theta.reshape(self.k, self.width).T  # rows x classes

    def value_gradient(self, theta):
        scores = self._scores(theta)
        normaliser = rows_logsumexp(scores)
        proba = np.exp(scores - normaliser[:, None])
        self._last = (theta, proba)  # the Hessian is asked for at the point a step was accepted
        intercept_sum = theta.reshape(self.k, self.width)[:, -1].sum()
        value = float(self.weights @ (normaliser - (scores * self.onehot).sum(axis=1)))
        value += 0.5 * float(self.penalised @ theta**2) + 0.5 * intercept_sum**2
        residual = (proba - self.onehot) * self.weights[:, None]  # rows x classes
        gradient = (residual.T @ self.Z).ravel() + self.penalised * theta
        gradient[self.width - 1::self.width] += intercept_sum
        return value, gradient

    def hessian(self, theta):
        if self._last[0] is theta:
            proba = self._last[1]
        else:
            scores = self._scores(theta)
            proba = np.exp(scores - rows_logsumexp(scores)[:, None])
        H = np.empty((self.size, self.size))
        w = self.width
        for a in range(self.k):
            for b in range(a, self.k):
                curvature = self.weights * proba[:, a] * ((a == b) - proba[:, b])
                block = (self.Z.T * curvature) @ self.Z
                H[a * w:(a + 1) * w, b * w:(b + 1) * w] = block
                H[b * w:(b + 1) * w, a * w:(a + 1) * w] = block.T
        H[np.diag_indices(self.size)] += self.penalised
        intercepts = np.arange(w - 1, self.size, w)
        H[np.ix_(intercepts, intercepts)] += 1.0
        return H


def rows_logsumexp(scores) -> np.ndarray:
    """`scipy.special.logsumexp(scores, axis=1)` of a real 2-d array, in its exact steps (the
    largest entry of each row kept out of the sum, bit for bit its result) without its
    array-API dispatch, which costs four times the arithmetic on a fold's few rows."""
    top = scores.max(axis=1, keepdims=True)
    at_top = scores == top
    count = np.sum(at_top, axis=1, keepdims=True, dtype=scores.dtype)
    rest = np.sum(np.exp(np.where(at_top, -np.inf, scores) - top), axis=1, keepdims=True, dtype=scores.dtype)
    rest = np.where(rest == 0, rest, rest / count)
    return (np.log1p(rest) + np.log(count) + top)[:, 0]


def logistic_proba(model, X, products=None) -> np.ndarray:
    """`predict_proba` of a fitted scikit-learn LogisticRegression (lbfgs: binomial or multinomial),
    computed as scikit-learn computes it but without its input checks, which cost more than the
    product itself on the few rows of a cross-validation fold. `products`: X @ coef_.T, when known."""
    scores = np.asarray(X @ model.coef_.T if products is None else products) + model.intercept_
    if scores.shape[1] == 1:
        positive = expit(scores[:, 0])
        return np.vstack([1.0 - positive, positive]).T
    return softmax(scores, axis=1)
