"""Slow, obvious NumPy references for the GloVe kernel (same entries, same order, same update rule).

``glove_epoch_ref`` loops over entries one at a time. ``glove_epoch_vectorised`` is exact too: the blocks
of a stratum share no row, so step ``k`` of every block can be done at once with fancy indexing.
"""

import numpy as np

from genevec import _layout


def _weight(logx, log_xmax, alpha):
    return 1.0 if logx >= log_xmax else float(np.exp(alpha * (logx - log_xmax)))


def glove_epoch_ref(tiles, params, strata, keys, *, x_max=100.0, alpha=0.75, learning_rate=0.05, clip=100.0):
    """One epoch entry by entry in the params' dtype; returns 0.5 * sum f diff^2 / count."""
    dt = params.W.dtype.type
    lr, cl = dt(learning_rate), dt(clip)
    log_xmax = float(np.log(x_max))
    b = tiles.group_bounds
    B = tiles.n_groups
    W, C, bw, bc, gW, gC, gbw, gbc = (params.W, params.C, params.bw, params.bc,
                                      params.gW, params.gC, params.gbw, params.gbc)
    total, count = 0.0, 0
    for k, s in enumerate(strata):
        for g in range(B):
            h = (g + int(s)) % B
            tile = tiles.tile(g, h)
            cols = tile.shape[1]
            for p in _layout.block_order(*tile.shape, keys[k, g]):
                r, c = divmod(int(p), cols)
                logx = tile[r, c]
                if not np.isfinite(logx):
                    continue
                i, j = b[g] + r, b[h] + c
                diff = dt(np.dot(W[i], C[j])) + bw[i] + bc[j] - logx
                diff = min(max(diff, -cl), cl)
                fd = dt(_weight(float(logx), log_xmax, alpha)) * diff
                total += float(fd * diff)
                count += 1
                grad_w, grad_c = fd * C[j], fd * W[i]
                W[i] -= lr * grad_w / np.sqrt(gW[i])
                C[j] -= lr * grad_c / np.sqrt(gC[j])
                gW[i] += grad_w * grad_w
                gC[j] += grad_c * grad_c
                bw[i] -= lr * fd / np.sqrt(gbw[i])
                bc[j] -= lr * fd / np.sqrt(gbc[j])
                gbw[i] += fd * fd
                gbc[j] += fd * fd
    return 0.5 * total / max(count, 1)


def glove_epoch_vectorised(tiles, params, strata, keys, *, x_max=100.0, alpha=0.75, learning_rate=0.05,
                           clip=100.0, n_strata=None):
    """The same epoch, step k of all blocks of a stratum at once; ``n_strata`` limits the strata run.

    Returns ``(loss_sum_halved, count)`` over the strata run.
    """
    dt = params.W.dtype.type
    lr, cl = dt(learning_rate), dt(clip)
    log_xmax = np.log(x_max)
    b = tiles.group_bounds
    B = tiles.n_groups
    P = params
    total, count = 0.0, 0
    strata = strata if n_strata is None else strata[:n_strata]
    for k, s in enumerate(strata):
        rows_i, cols_j, logs = [], [], []
        for g in range(B):
            h = (g + int(s)) % B
            tile = tiles.tile(g, h)
            order = _layout.block_order(*tile.shape, keys[k, g])
            r, c = np.divmod(order, tile.shape[1])
            rows_i.append(b[g] + r)
            cols_j.append(b[h] + c)
            logs.append(tile[r, c])
        steps = max(len(x) for x in rows_i)
        I = np.zeros((B, steps), np.int64)
        J = np.zeros((B, steps), np.int64)
        L = np.full((B, steps), -np.inf, dtype=P.W.dtype)
        for g in range(B):
            n = len(rows_i[g])
            I[g, :n], J[g, :n], L[g, :n] = rows_i[g], cols_j[g], logs[g]
        for t in range(steps):
            ok = np.isfinite(L[:, t])
            i, j, lx = I[ok, t], J[ok, t], L[ok, t]
            w, v = P.W[i], P.C[j]
            diff = np.einsum("ij,ij->i", w, v) + P.bw[i] + P.bc[j] - lx
            diff = np.clip(diff, -cl, cl)
            f = np.where(lx >= log_xmax, 1.0, np.exp(alpha * (lx.astype(np.float64) - log_xmax))).astype(P.W.dtype)
            fd = f * diff
            total += float((fd * diff).astype(np.float64).sum())
            count += int(ok.sum())
            grad_w, grad_c = fd[:, None] * v, fd[:, None] * w
            P.W[i] = w - lr * grad_w / np.sqrt(P.gW[i])
            P.C[j] = v - lr * grad_c / np.sqrt(P.gC[j])
            P.gW[i] += grad_w * grad_w
            P.gC[j] += grad_c * grad_c
            P.bw[i] -= lr * fd / np.sqrt(P.gbw[i])
            P.bc[j] -= lr * fd / np.sqrt(P.gbc[j])
            P.gbw[i] += fd * fd
            P.gbc[j] += fd * fd
    return 0.5 * total, count


def glove_loss_ref(T, params, *, x_max=100.0, alpha=0.75, log_shift=0.0):
    """Exact loss from the dense TCM in float64: 0.5 * sum over T > 0 of f * diff^2 / count."""
    T = np.asarray(T, dtype=np.float64)
    mask = T > 0
    lx = np.log(np.where(mask, T, 1.0)) + log_shift
    W, C = params.W.astype(np.float64), params.C.astype(np.float64)
    pred = W @ C.T + params.bw.astype(np.float64)[:, None] + params.bc.astype(np.float64)[None, :]
    f = np.minimum(1.0, np.exp(alpha * (lx - np.log(x_max))))
    return 0.5 * float((f * (pred - lx) ** 2)[mask].sum()) / int(mask.sum())
