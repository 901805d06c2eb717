"""Which fragment to code next: uncertainty, taken in turns across cases (`suggest` and `--simulate`)."""

import collections
import math

import numpy as np


def uncertainty(proba_row, strategy: str) -> float:
    """0 (sure) .. 1 (unsure): 1 - margin between the two best values, or normalised entropy."""
    row = np.sort(np.asarray(proba_row))[::-1]
    if len(row) < 2:
        return 0.0
    if strategy == "margin":
        return float(1.0 - (row[0] - row[1]))
    positive = row[row > 0]
    return float(-(positive * np.log(positive)).sum() / math.log(len(row)))


def round_robin(scored, n: int) -> list:
    """The `n` most uncertain fragments, taken in turns from each case (cases ordered by their top score)."""
    by_case = collections.defaultdict(list)
    for item in scored:
        by_case[item[0].case].append(item)
    queues = [sorted(items, key=lambda i: (-i[1], i[0].id)) for items in by_case.values()]
    queues.sort(key=lambda q: (-q[0][1], q[0][0].case))
    chosen = []
    while len(chosen) < n and any(queues):
        for queue in queues:
            if queue and len(chosen) < n:
                chosen.append(queue.pop(0))
    return chosen
