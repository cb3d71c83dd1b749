#!/usr/bin/env python3
# test_track — pre-dump chains on real tasks (track-target), under a
# subreaper that kills and reaps everything it started (the keepers too):
#  - 5 pre-dumps and a final `dump -s --track-mem` of a task whose threads
#    keep writing known patterns: every image set passes `crisp-img check`,
#    every image decodes with crit, and chain-verify finds the final pages
#    plus their parents equal to the stopped task's memory, byte for byte,
#    and consistent from the images alone;
#  - the task's fd table, maps and smaps VmFlags are unchanged afterwards
#    (no userfaultfd flags left), no keeper is left, and it verifies itself;
#  - the same with a task that maps and unmaps regions all the time;
#  - a pre-dump on a parent that is not the last round copies everything;
#  - a task with a userfaultfd of its own is refused and left running.
# usage: test_track.py CRISP TRACK_TARGET CHAIN_VERIFY CRISP_IMG [CRIT]
import ctypes, json, os, signal, subprocess, sys, tempfile, time

crisp, target, verifier, tool = sys.argv[1:5]
crit = sys.argv[5] if len(sys.argv) > 5 else None
failures = []
started = []

def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, flush=True)

def ok(cond, msg):
    if not cond:
        fail(msg)
    return cond

libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(36, 1, 0, 0, 0) != 0:      # PR_SET_CHILD_SUBREAPER
    print("cannot become a subreaper"); sys.exit(2)

def start(work, *args):
    os.makedirs(work, exist_ok=True)
    p = subprocess.Popen([target, work] + list(args), stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=True)
    started.append(p.pid)
    ready = os.path.join(work, "ready")
    for _ in range(2000):
        if os.path.exists(ready):
            return p.pid
        if os.waitpid(p.pid, os.WNOHANG)[0] == p.pid:
            break
        time.sleep(0.005)
    print("track-target did not start"); sys.exit(2)

def state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"

def fds(pid):
    return sorted((n, os.readlink("/proc/%d/fd/%s" % (pid, n))) for n in os.listdir("/proc/%d/fd" % pid))

def maps(pid):
    with open("/proc/%d/maps" % pid) as f:
        return f.read()

def vmflags(pid):
    out, cur = [], None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            if "-" in line.split(" ")[0] and ":" not in line.split(" ")[0]:
                cur = line.split(" ")[0]
            elif line.startswith("VmFlags:"):
                out.append((cur, sorted(line.split()[1:])))
    return out

def uffd_flags(pid):
    return [r for r, fl in vmflags(pid) if set(fl) & {"um", "uw", "ui"}]

def keepers():
    """Live (not zombie) crisp-track processes, our children after crisp exits."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        comm = st[st.index("(") + 1:st.rindex(")")]
        rest = st.rsplit(")", 1)[1].split()
        if comm == "crisp-track" and rest[0] != "Z" and int(rest[1]) == os.getpid():
            found.append(int(d))
    return found

def reap():
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] <= 0:
                return
        except ChildProcessError:
            return

def run_crisp(*args):
    r = subprocess.run([crisp] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    reap()
    return r

def verify_self(pid, work):
    os.kill(pid, signal.SIGUSR1)
    path = os.path.join(work, "verdict")
    for _ in range(6000):
        if os.path.exists(path):
            break
        time.sleep(0.005)
    else:
        os.kill(pid, signal.SIGKILL)    # no verdict in 30 s: do not hang
    os.waitpid(pid, 0)
    started.remove(pid)
    try:
        return open(path).read().strip()
    except OSError:
        return "no verdict"

def pagemap_flags(tmpdir, d, pid):
    r = subprocess.run([tool, "decode", "-i", os.path.join(tmpdir, d, "pagemap-%d.img" % pid)],
                       stdout=subprocess.PIPE)
    ents = json.loads(r.stdout)["entries"][1:]
    return [e.get("flags", 0) for e in ents]

def check_images(tmpdir, dirs):
    for d in dirs:
        path = os.path.join(tmpdir, d)
        r = subprocess.run([tool, "check", path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        ok(r.returncode == 0, "crisp-img check %s: %s" % (d, r.stdout.decode()[-500:]))
        for n in sorted(os.listdir(path)):
            if n.startswith("pages-") or n == "parent" or n.endswith(".log"):
                continue
            ours = subprocess.run([tool, "decode", "-i", os.path.join(path, n)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            ok(ours.returncode == 0, "crisp-img cannot decode %s/%s" % (d, n))
            if crit:
                theirs = subprocess.run([crit, "decode", "-i", os.path.join(path, n)],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                ok(theirs.returncode == 0, "crit cannot decode %s/%s: %s" %
                   (d, n, theirs.stderr.decode()[-300:]))
                ok(theirs.stdout == ours.stdout, "crit and crisp-img disagree on %s/%s" % (d, n))

def chain(tmp, name, target_args, same_maps):
    """5 pre-dumps and a final dump -s of one task; everything checked."""
    work = os.path.join(tmp, name)
    pid = start(work, *target_args)
    fds0, maps0, flags0 = fds(pid), maps(pid), vmflags(pid)
    dirs = []
    for rnd in range(1, 7):
        d = "%s-%d" % (name, rnd)
        dirs.append(d)
        os.makedirs(os.path.join(tmp, d))
        final = rnd == 6
        args = ["dump" if final else "pre-dump", "-t", str(pid), "-D", os.path.join(tmp, d),
                "-o", "crisp.log", "-v4", "--track-mem"]
        if rnd > 1:
            args += ["--prev-images-dir", "../%s-%d" % (name, rnd - 1)]
        if final:
            args += ["-s"]
        time.sleep(0.05)    # let the writers write between the rounds
        r = run_crisp(*args)
        if not ok(r.returncode == 0, "%s round %d failed: %s" % (name, rnd, r.stderr.decode()[-1500:])):
            return
        ok(fds(pid) == fds0, "%s round %d: the task's fd table changed: %s" % (name, rnd, fds(pid)))
        if not final:
            ok(state(pid) in ("S", "R"), "%s round %d: the task is %s" % (name, rnd, state(pid)))
            ok(len(keepers()) == 1, "%s round %d: %d tracking keepers" % (name, rnd, len(keepers())))
    ok(state(pid) == "T", "after dump -s the task is %s, not stopped" % state(pid))
    # the rounds after the first leave unchanged pages to their parents
    for rnd in range(2, 7):
        fl = pagemap_flags(tmp, dirs[rnd - 1], pid)
        ok(any(f & 1 for f in fl), "%s round %d has no PE_PARENT entries" % (name, rnd))
        ok(all(f in (1, 4) for f in fl), "%s round %d: pagemap flags %s" % (name, rnd, sorted(set(fl))))
    first = os.path.getsize(os.path.join(tmp, dirs[0], "pages-1.img"))
    last = os.path.getsize(os.path.join(tmp, dirs[4], "pages-1.img"))
    ok(last < first, "%s: the fifth pre-dump wrote %d bytes, the first %d" % (name, last, first))
    check_images(tmp, dirs)
    r = subprocess.run([verifier, os.path.join(tmp, dirs[-1]), str(pid), os.path.join(work, "ready"),
                        "--live"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = r.stdout.decode()
    print(out, end="")
    ok(r.returncode == 0, "%s: chain-verify: %s" % (name, out[-1500:]))
    ok("chain depth 6" in out, "%s: the final pages did not use all 5 parents" % name)
    # nothing of the tracking is left in the task
    ok(uffd_flags(pid) == [], "%s: userfaultfd flags left on %s" % (name, uffd_flags(pid)))
    ok(fds(pid) == fds0, "%s: fd table changed" % name)
    if same_maps:
        ok(maps(pid) == maps0, "%s: the memory map changed" % name)
        ok(vmflags(pid) == flags0, "%s: smaps VmFlags changed" % name)
    ok(keepers() == [], "%s: a tracking keeper is left: %s" % (name, keepers()))
    os.kill(pid, signal.SIGCONT)
    time.sleep(0.05)
    ok(verify_self(pid, work) == "ok", "%s: the task's own check after the chain failed" % name)

tmp = tempfile.mkdtemp(prefix="crisp-track-test-")
try:
    # threads writing concurrently
    chain(tmp, "threads", ["--mib", "16", "--writers", "4"], True)
    # a task that maps and unmaps regions between (and during) rounds
    chain(tmp, "churn", ["--mib", "8", "--writers", "2", "--churn"], False)

    # a pre-dump on a parent that is not the last committed round
    work = os.path.join(tmp, "stale"); pid = start(work, "--mib", "4", "--writers", "2")
    for i, prev in ((1, None), (2, 1), (3, 1)):
        d = os.path.join(tmp, "stale-%d" % i); os.makedirs(d)
        args = ["pre-dump", "-t", str(pid), "-D", d]
        if prev:
            args += ["--prev-images-dir", "../stale-%d" % prev]
        r = run_crisp(*args)
        ok(r.returncode == 0, "stale pre-dump %d failed: %s" % (i, r.stderr.decode()[-800:]))
    ok(any(f & 1 for f in pagemap_flags(tmp, "stale-2", pid)), "stale-2 has no PE_PARENT entries")
    ok(not any(f & 1 for f in pagemap_flags(tmp, "stale-3", pid)),
       "stale-3 trusted tracking state that belongs to stale-2")
    d = os.path.join(tmp, "stale-4"); os.makedirs(d)
    r = run_crisp("dump", "-t", str(pid), "-D", d, "-s", "--track-mem", "--prev-images-dir", "../stale-3")
    ok(r.returncode == 0, "stale final dump failed: " + r.stderr.decode()[-800:])
    r = subprocess.run([verifier, d, str(pid), os.path.join(work, "ready"), "--live"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    ok(r.returncode == 0, "stale chain-verify: " + r.stdout.decode()[-800:])
    check_images(tmp, ["stale-1", "stale-2", "stale-3", "stale-4"])
    ok(uffd_flags(pid) == [] and keepers() == [], "stale: tracking left behind")
    os.kill(pid, signal.SIGCONT)
    ok(verify_self(pid, work) == "ok", "stale: the task's own check failed")

    # a task with a userfaultfd of its own is refused, untouched
    work = os.path.join(tmp, "uffd"); pid = start(work, "--mib", "1", "--writers", "1", "--uffd")
    fds0, maps0 = fds(pid), maps(pid)
    d = os.path.join(tmp, "uffd-1"); os.makedirs(d)
    r = run_crisp("pre-dump", "-t", str(pid), "-D", d)
    ok(r.returncode == 1, "pre-dump of a task with its own userfaultfd exits %d" % r.returncode)
    ok(b"userfaultfd" in r.stderr, "the refusal does not say userfaultfd: " + r.stderr.decode()[-300:])
    ok(not os.path.exists(os.path.join(d, "inventory.img")), "the refused pre-dump left inventory.img")
    ok(state(pid) in ("S", "R") and fds(pid) == fds0 and maps(pid) == maps0,
       "the refused task changed")
    ok(keepers() == [], "a keeper was started for a refused task")
    ok(verify_self(pid, work) == "ok", "the refused task's own check failed")
finally:
    for p in started:
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass
    for p in keepers():
        os.kill(p, signal.SIGKILL)
    while True:
        try:
            if os.waitpid(-1, 0)[0] <= 0:
                break
        except ChildProcessError:
            break
    subprocess.run(["rm", "-rf", tmp])

print("%d failures" % len(failures))
sys.exit(1 if failures else 0)
