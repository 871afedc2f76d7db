"""Pictures of a migration, with Debian's python3-matplotlib (Agg, no display).

timeline(): the demo's run on one time axis, t = 0 at the VM's gratuitous
    ARP: the probe's replies (and the blackout), each node's kernel route to
    the VM (metric, and which node it goes via), and the watchers' and the
    script's events; the whole run on the left, the switchover zoomed in on
    the right.
distribution(): blackout durations of several runs per variant (e.g. handoff
    against a baseline without it), as histograms and cumulative curves; for
    a benchmark that repeats the migration (hack/bench-blackout.sh).

Both take plain lists (seconds since the epoch, milliseconds), not the demo's
files, so any script can draw them."""
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

NODE_COLOURS = {"a": "tab:blue", "b": "tab:orange", "c": "tab:green"}
ROUTE_RE = re.compile(r"^([+-]) \S+ (via node-(\w)|dev \S+ \(the VM\)) metric (\d+)")


def route_steps(changes, t_start):
    """[(t, "+ ip via node-b metric 512 proto bird"), ...] -> [(t, metric or
    None, where)]: the route the kernel uses (lowest metric) after each change,
    from t_start on. A route removed without having been added was there
    before the monitor started: it counts from t_start."""
    parsed = []
    for t, text in changes:
        m = ROUTE_RE.match(text)
        if m:
            where = ("via node-" + m.group(3)) if m.group(3) else "to the VM"
            parsed.append((t, m.group(1) == "+", (where, int(m.group(4)))))
    active, seen = {}, set()
    for _, add, key in parsed:
        if not add and key not in seen:
            active[key] = True
        seen.add(key)

    def best():
        k = min(active, key=lambda k: k[1]) if active else (None, None)
        return k[1], k[0]

    out = [(t_start, *best())]
    for t, add, key in parsed:
        if add:
            active[key] = True
        else:
            active.pop(key, None)
        out.append((t, *best()))
    return out


def _replies(ax, replies, t0, scale, window):
    lo, hi = window
    xs = [(t - t0) * scale for t in replies if lo <= (t - t0) * scale <= hi]
    if scale == 1:
        # The whole run: replies per 100 ms (the sender's pace, when none is lost).
        width = 0.1
        bins = {}
        for x in xs:
            bins[int(x // width)] = bins.get(int(x // width), 0) + 1
        if bins:
            keys = range(min(bins), max(bins) + 1)
            ax.step([k * width for k in keys], [bins.get(k, 0) for k in keys], where="post",
                    color="tab:purple", linewidth=0.8)
        ax.set_ylabel("replies\nper 100 ms")
    else:
        ax.eventplot(xs, colors="tab:purple", linewidths=0.8, lineoffsets=0.5, linelengths=0.8)
        ax.set_yticks([])
        ax.set_ylabel("probe\nreplies")


def _routes(ax, routes, t0, scale, window, t_end):
    for i, (n, changes) in enumerate(sorted(routes.items())):
        steps = route_steps(changes, t0 + window[0] / scale)
        lift = 30 * i  # nodes at the same metric stay apart
        xs, ys = [], []
        for (t, metric, where), nxt in zip(steps, steps[1:] + [(t_end, None, None)]):
            x1, x2 = (t - t0) * scale, (nxt[0] - t0) * scale
            if x2 < window[0] or x1 > window[1]:
                continue
            y = metric + lift if metric is not None else float("nan")
            xs += [max(x1, window[0]), min(x2, window[1])]
            ys += [y, y]
            if metric is not None and x2 - max(x1, window[0]) > 0.04 * (window[1] - window[0]):
                ax.annotate(f"node-{n} {where}", (max(x1, window[0]), y), fontsize=7,
                            xytext=(3 + 70 * i, 1), textcoords="offset points",
                            color=NODE_COLOURS.get(n, "black"), clip_on=True)
        ax.plot(xs, ys, color=NODE_COLOURS.get(n, "black"), label=f"node-{n}", linewidth=1.6)
    ax.set_ylabel("route metric\nto the VM")
    ax.set_ylim(380, 1200)
    ax.set_yticks([512, 1024])
    ax.legend(loc="center right", fontsize=7)


def _events(ax, events, t0, scale, window, label):
    lanes = sorted({who for _, who, _ in events})
    shown = 0
    for t, who, text in sorted(events):
        x = (t - t0) * scale
        if not window[0] <= x <= window[1]:
            continue
        y = lanes.index(who)
        node = re.search(r"node-(\w)", who)
        ax.plot([x], [y], marker="|", markersize=10,
                color=NODE_COLOURS.get(node.group(1) if node else "", "dimgray"))
        if label(who, text):
            # Staggered: events a fraction of a millisecond apart stay readable.
            ax.annotate(re.sub(r"^vms/\S+: ", "", text)[:44], (x, y), fontsize=6,
                        xytext=(3, -9 + 9 * (shown % 3)), textcoords="offset points", clip_on=True)
            shown += 1
    ax.set_yticks(range(len(lanes)))
    ax.set_yticklabels(lanes, fontsize=7)
    ax.set_ylim(-0.6, len(lanes) - 0.4)


def timeline(path, t0, replies, routes, events, blackout=None, title=""):
    """Write the timeline PNG. t0: the GARP (epoch s); replies: epoch s of each
    echo; routes: {"a": [(t, text)]...} as report.py reads `ip monitor`;
    events: [(t, who, text)]; blackout: (start, end) epoch s, or None."""
    ts = [t for t, _, _ in events] + list(replies)
    t_end = max(ts) if ts else t0 + 1
    full = ((min(ts) if ts else t0) - t0 - 0.2, t_end - t0 + 0.2)
    gap_ms = (blackout[1] - blackout[0]) * 1000 if blackout else 5.0
    zoom = (-max(3 * gap_ms, 5.0), max(6 * gap_ms, 10.0))
    fig, axes = plt.subplots(3, 2, figsize=(13, 7.5), sharex="col",
                             gridspec_kw={"height_ratios": [1, 2, 2.4], "hspace": 0.08,
                                          "wspace": 0.28})
    for col, (scale, window, unit) in enumerate(((1, full, "s"), (1000, zoom, "ms"))):
        ax_r, ax_m, ax_e = axes[:, col]
        _replies(ax_r, replies, t0, scale, window)
        _routes(ax_m, routes, t0, scale, window, t_end)
        in_zoom = col == 1
        _events(ax_e, [e for e in events if "kernel" not in e[1]], t0, scale, window,
                lambda who, text: in_zoom or "watcher" in who)
        for ax in axes[:, col]:
            ax.axvline(0, color="red", linewidth=0.7, linestyle="--")
            if blackout:
                ax.axvspan((blackout[0] - t0) * scale, (blackout[1] - t0) * scale,
                           color="red", alpha=0.12)
            ax.set_xlim(*window)
            ax.grid(axis="x", alpha=0.3)
        ax_e.set_xlabel(f"time since the VM's gratuitous ARP ({unit})")
        ax_r.set_title("the whole run" if col == 0 else
                       "the switchover" + (f": blackout {gap_ms:.1f} ms (shaded)"
                                           if blackout else ""), fontsize=9)
    fig.suptitle(title, fontsize=11)
    fig.savefig(path, dpi=72, bbox_inches="tight")
    plt.close(fig)


def distribution(path, series, title="", xlabel="blackout (ms)"):
    """Write a PNG comparing distributions: series = {"handoff": [ms, ...],
    "baseline": [ms, ...]}; a histogram per variant and their cumulative
    curves, the median of each marked."""
    fig, (ax_h, ax_c) = plt.subplots(1, 2, figsize=(11, 4))
    values = [v for vs in series.values() for v in vs]
    hi = max(values) if values else 1.0
    lo = min(values) if values else 0.0
    # Handoff's few milliseconds against a baseline's seconds: a log axis
    # keeps both readable.
    log = lo > 0 and hi / lo > 20
    if log:
        bins = [lo * (hi / lo) ** (i / 40) for i in range(41)]
        for ax in (ax_h, ax_c):
            ax.set_xscale("log")
    else:
        bins = [hi * i / 30 for i in range(31)]
    for i, (name, vs) in enumerate(series.items()):
        colour = f"C{i}"
        vs = sorted(vs)
        if not vs:
            continue
        med = vs[len(vs) // 2]
        ax_h.hist(vs, bins=bins, alpha=0.55, color=colour, label=f"{name} (n={len(vs)})")
        ax_c.step(vs, [(k + 1) / len(vs) for k in range(len(vs))], where="post", color=colour,
                  label=f"{name}: median {med:.1f}, max {vs[-1]:.1f}")
        for ax in (ax_h, ax_c):
            ax.axvline(med, color=colour, linestyle="--", linewidth=0.8)
    ax_h.set_xlabel(xlabel)
    ax_h.set_ylabel("runs")
    ax_c.set_xlabel(xlabel)
    ax_c.set_ylabel("fraction of runs at or below")
    for ax in (ax_h, ax_c):
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=11)
    fig.savefig(path, dpi=72, bbox_inches="tight")
    plt.close(fig)
