"""torch.mm side of benches/matmul_shapes.rs: the same shapes, 2 threads, best of 30 each.

Prints one line per shape: name, a tab, the best time in milliseconds.
"""

import time

import torch

# (name, m, n, k, lhs transposed, rhs transposed); keep in sync with matmul_shapes.rs.
SHAPES = [
    ("q/k/v/o forward", 2048, 256, 256, False, False),
    ("gate/up forward", 2048, 688, 256, False, False),
    ("down forward", 2048, 256, 688, False, False),
    ("q/k/v/o d_x", 2048, 256, 256, False, True),
    ("gate/up d_x", 2048, 256, 688, False, True),
    ("down d_x", 2048, 688, 256, False, True),
    ("q/k/v/o d_W", 256, 256, 2048, True, False),
    ("gate/up d_W", 256, 688, 2048, True, False),
    ("down d_W", 688, 256, 2048, True, False),
    ("head forward", 1024, 2048, 256, False, False),
    ("head d_x", 1024, 256, 2048, False, True),
    ("head d_W", 256, 2048, 1024, True, False),
]


def operand(rows, cols, transposed):
    values = (torch.arange(rows * cols) % 97 - 48).float() / 97
    if transposed:
        return values.reshape(cols, rows).t()
    return values.reshape(rows, cols)


def main():
    torch.set_num_threads(2)
    for name, m, n, k, lhs_t, rhs_t in SHAPES:
        a, b = operand(m, k, lhs_t), operand(k, n, rhs_t)
        best = float("inf")
        for _ in range(30):
            start = time.perf_counter()
            c = torch.mm(a, b)
            best = min(best, time.perf_counter() - start)
            del c
        print(f"{name}\t{best * 1e3:.4f}")


if __name__ == "__main__":
    main()
