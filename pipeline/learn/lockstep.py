"""Several L-BFGS minimisations run side by side, their objectives evaluated together.

Cross-validation fits the same fold matrix for every dimension and value of C (about 16
logistic regressions per fold). Each L-BFGS step of each fit costs two products with the
fold matrix, and a product with a block of 16 coefficient vectors costs a fraction of 16
single products (the matrix is read once). `minimize_together` runs each problem's own,
unchanged scipy L-BFGS-B (its steps, line search and stopping test), each in a thread of
its own, and answers their requests for the objective in rounds: a round waits until every
problem still running has asked, then evaluates all of them in one call of `evaluate`.
Which problems share a round depends only on how many steps each takes, never on thread
timing, so the results are the same on every run.
"""

import threading

import numpy as np
from scipy import optimize


class _Stop(Exception):
    """Ends a problem's thread when the batch evaluation failed (the error is raised in the caller)."""


def minimize_together(evaluate, starts, options: dict) -> list:
    """scipy `OptimizeResult`s of L-BFGS-B minimisations started at `starts`.

    `evaluate([(number, x), ...])` returns [(value, gradient), ...] of the numbered problems'
    objectives at those points, all at once. `options` are L-BFGS-B's (as `optimize.minimize`).
    """
    condition = threading.Condition()
    asked, answers, running, results, failure = {}, {}, set(range(len(starts))), [None] * len(starts), []

    def objective(number):
        def value_and_gradient(x):
            with condition:
                asked[number] = np.array(x, dtype=np.float64)
                condition.notify_all()
                while number not in answers:
                    condition.wait()
                answer = answers.pop(number)
            if answer is None:
                raise _Stop()
            return answer
        return value_and_gradient

    def solve(number):
        try:
            results[number] = optimize.minimize(objective(number), starts[number], method="L-BFGS-B", jac=True,
                                                options=options)
        except _Stop:
            pass
        finally:
            with condition:
                running.discard(number)
                condition.notify_all()

    threads = [threading.Thread(target=solve, args=(number,), daemon=True) for number in range(len(starts))]
    for thread in threads:
        thread.start()
    while True:
        with condition:
            while running and len(asked) < len(running):  # a round: every running problem has asked
                condition.wait()
            if not running:
                break
            round_ = sorted(asked.items())
            asked.clear()
        try:
            values = evaluate(round_) if not failure else [None] * len(round_)
        except BaseException as error:  # stop every thread, then raise in the caller
            failure.append(error)
            values = [None] * len(round_)
        with condition:
            answers.update((number, value) for (number, _), value in zip(round_, values))
            condition.notify_all()
    for thread in threads:
        thread.join()
    if failure:
        raise failure[0]
    return results
