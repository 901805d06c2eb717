"""L-BFGS runs side by side (`learn/lockstep.py`): each problem takes exactly its own scipy steps."""

import numpy as np
import pytest
from scipy import optimize

from pipeline.learn.lockstep import minimize_together

OPTIONS = {"maxiter": 200, "gtol": 1e-8}


def rosenbrock(shift):
    def value_and_gradient(x):
        y = x - shift
        value = optimize.rosen(y)
        return value, optimize.rosen_der(y)
    return value_and_gradient


def test_each_problem_takes_the_steps_it_takes_alone():
    shifts = [np.zeros(3), np.ones(3), np.array([0.5, -2.0, 3.0]), np.full(3, 7.0)]
    starts = [np.full(3, -1.0), np.zeros(3), np.array([2.0, 0.0, 1.0]), np.zeros(3)]
    rounds = []

    def evaluate(asked):
        rounds.append([number for number, _ in asked])
        return [rosenbrock(shifts[number])(x) for number, x in asked]

    together = minimize_together(evaluate, starts, OPTIONS)
    for shift, start, result in zip(shifts, starts, together):
        alone = optimize.minimize(rosenbrock(shift), start, method="L-BFGS-B", jac=True, options=OPTIONS)
        assert result.nit == alone.nit and result.nfev == alone.nfev and result.nit > 5
        assert np.array_equal(result.x, alone.x)
        np.testing.assert_allclose(result.x, shift + 1.0, atol=1e-4)
    # every problem still running is asked in every round: the first round holds all four
    assert rounds[0] == [0, 1, 2, 3] and len(rounds) == max(r.nfev for r in together)
    assert [len(r) for r in rounds] == sorted((len(r) for r in rounds), reverse=True)


def test_a_failing_evaluation_stops_every_problem_and_is_raised():
    calls = []

    def evaluate(asked):
        calls.append(len(asked))
        if len(calls) == 3:
            raise ArithmeticError("broken objective")
        return [rosenbrock(np.zeros(2))(x) for _, x in asked]

    with pytest.raises(ArithmeticError, match="broken objective"):
        minimize_together(evaluate, [np.zeros(2), np.full(2, -1.0)], OPTIONS)
    assert calls == [2, 2, 2]
