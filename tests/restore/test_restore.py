#!/usr/bin/env python3
# test_restore — `crisp restore` of real tasks (dump-target), run under a
# subreaper that kills and reaps everything it started:
#  - restore without -d: crisp stays the parent and exits with the task's
#    status; --pidfile, --display-stats, stats-restore, the success message;
#  - restore -d -S: crisp returns, the task is a sibling (our child) and
#    runs on with memory and threads unchanged;
#  - failures: the PID in use (dump -R leaves the task running), corrupted
#    or truncated images, lazy pages: exit 1, a clear message naming the
#    image (or saying what is unsupported), and no task with that PID left.
# usage: test_restore.py CRISP DUMP_TARGET CRISP_IMG
import ctypes, os, shutil, signal, subprocess, sys, tempfile, time

crisp, target, tool = sys.argv[1:4]
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

def wait_file(path, pid=None, tries=2000):
    for _ in range(tries):
        if os.path.exists(path):
            return True
        if pid and os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
        time.sleep(0.005)
    return False

def start(work, *args):
    os.makedirs(work, exist_ok=True)
    p = subprocess.Popen([target, work] + list(args), stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         close_fds=True)
    started.append(p.pid)
    if not wait_file(os.path.join(work, "ready"), p.pid):
        print("dump-target did not start"); sys.exit(2)
    return p.pid

def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False

def reap_all():
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] <= 0:
                return
        except ChildProcessError:
            return

def run(*args):
    return subprocess.run([crisp] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE)

def dump(pid, imgs, *extra):
    os.makedirs(imgs, exist_ok=True)
    r = run("dump", "-t", str(pid), "-D", imgs, *extra)
    if "-R" not in extra:
        reap_all()
    return r

def lazy_pagemap(b):
    """The pagemap with its first run marked lazy (PE_LAZY), through crisp-img."""
    import json
    doc = json.loads(subprocess.run([tool, "decode"], input=b, stdout=subprocess.PIPE,
                                    check=True).stdout)
    doc["entries"][1]["flags"] = 2
    return subprocess.run([tool, "encode"], input=json.dumps(doc).encode(),
                          stdout=subprocess.PIPE, check=True).stdout

def verdict(work):
    path = os.path.join(work, "verdict")
    wait_file(path, tries=6000)
    try:
        return open(path).read().strip()
    except OSError:
        return "no verdict"

tmp = tempfile.mkdtemp(prefix="crisp-restore-test-")
try:
    # (1) restore without -d: crisp waits and exits as the task does
    work = os.path.join(tmp, "run1"); imgs = os.path.join(tmp, "img1")
    pid = start(work, "--threads", "3", "--mib", "4")
    r = dump(pid, imgs)
    ok(r.returncode == 0 and not alive(pid), "dump (kill) failed: " + r.stderr.decode()[-500:])
    started.remove(pid)
    pidfile = os.path.join(tmp, "pid1")
    p = subprocess.Popen([crisp, "restore", "-D", imgs, "-v4", "--pidfile", pidfile,
                          "--display-stats"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if ok(wait_file(pidfile, tries=4000), "restore wrote no pid file"):
        ok(open(pidfile).read().strip() == str(pid), "pid file holds another pid")
        ok(alive(pid), "the restored task is not running")
        ok(len(os.listdir("/proc/%d/task" % pid)) == 4, "the restored task lacks threads")
        os.kill(pid, signal.SIGUSR1)
    out, err = p.communicate(timeout=60)
    ok(verdict(work) == "ok", "the restored task found a difference: " + verdict(work))
    ok(p.returncode == 0, "crisp restore (waiting) exited %d" % p.returncode)
    ok(b"Restore finished successfully" in err, "no success message at info level")
    ok(b"Pages restored:" in out, "--display-stats printed no restore stats")
    r = subprocess.run([tool, "decode", "-i", os.path.join(imgs, "stats-restore")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ok(r.returncode == 0 and b"restore" in r.stdout, "stats-restore does not decode")

    # (2) -d -S: crisp returns, the task is our child and runs on unchanged
    work = os.path.join(tmp, "run2"); imgs = os.path.join(tmp, "img2")
    pid = start(work, "--threads", "2", "--mib", "2")
    started.remove(pid)
    ok(dump(pid, imgs).returncode == 0, "dump (kill) failed")
    r = run("restore", "-D", imgs, "-d", "-S")
    ok(r.returncode == 0, "restore -d -S failed: " + r.stderr.decode()[-500:])
    if alive(pid):
        started.append(pid)
        with open("/proc/%d/stat" % pid) as f:
            ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        ok(ppid == os.getpid(), "with -S the parent is %d, not us (%d)" % (ppid, os.getpid()))
        os.kill(pid, signal.SIGUSR1)
        ok(verdict(work) == "ok", "the restored task (-S) found a difference")
        os.waitpid(pid, 0); started.remove(pid)
    else:
        fail("restore -d -S left no running task")

    # (3) the PID is in use: dump -R leaves the task running
    work = os.path.join(tmp, "run3"); imgs = os.path.join(tmp, "img3")
    pid = start(work, "--threads", "1", "--mib", "1")
    ok(dump(pid, imgs, "-R").returncode == 0, "dump -R failed")
    r = run("restore", "-D", imgs, "-d")
    ok(r.returncode == 1, "restore onto a used PID exits %d" % r.returncode)
    ok(b"PID %d is in use" % pid in r.stderr, "no clear message for a used PID: " + r.stderr.decode()[-300:])
    ok(alive(pid), "the original task was hurt")
    os.kill(pid, signal.SIGUSR1)
    ok(verdict(work) == "ok", "the original task changed")
    os.waitpid(pid, 0); started.remove(pid)

    # (4) corrupted images: a clear error naming the image, nothing left
    work = os.path.join(tmp, "run4"); imgs = os.path.join(tmp, "img4")
    pid = start(work, "--threads", "1", "--mib", "1")
    started.remove(pid)
    ok(dump(pid, imgs).returncode == 0, "dump (kill) failed")
    cases = [
        ("core-%d.img" % pid, lambda b: b[:8] + b"\xff\xff\xff\x7f" + b[12:], "core-%d.img" % pid),
        ("mm-%d.img" % pid, lambda b: b[:len(b) // 2], "mm-%d.img" % pid),
        ("pagemap-%d.img" % pid, lambda b: b[:4] + b"\x00\x00\x00\x00" + b[8:], "pagemap-%d.img" % pid),
        ("pages-1.img", lambda b: b[:len(b) // 3], "pages-1.img"),
        ("pstree.img", lambda b: b"", "pstree.img"),
        ("pagemap-%d.img" % pid, lazy_pagemap, "lazy restore is not supported"),
    ]
    for name, spoil, says in cases:
        bad = os.path.join(tmp, "bad-%d-%s" % (len(os.listdir(tmp)), name))
        shutil.copytree(imgs, bad)
        data = open(os.path.join(imgs, name), "rb").read()
        open(os.path.join(bad, name), "wb").write(spoil(data))
        r = run("restore", "-D", bad, "-d")
        ok(r.returncode == 1, "restore with a spoilt %s exits %d" % (name, r.returncode))
        ok(says.encode() in r.stderr, "the error does not name %s: %s" % (says, r.stderr.decode()[-300:]))
        reap_all()
        ok(not alive(pid), "a task with pid %d is left after a failed restore (%s)" % (pid, name))
        if alive(pid):
            os.kill(pid, signal.SIGKILL); reap_all()
    # and the unspoilt images still restore
    r = run("restore", "-D", imgs, "-d")
    ok(r.returncode == 0, "restore of the good images failed: " + r.stderr.decode()[-300:])
    if alive(pid):
        started.append(pid)
        os.kill(pid, signal.SIGUSR1)
        ok(verdict(work) == "ok", "the restored task changed")
finally:
    for p in started:
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass
    time.sleep(0.05)
    reap_all()
    shutil.rmtree(tmp, ignore_errors=True)

if failures:
    print("%d failed checks" % len(failures)); sys.exit(1)
print("all restore checks passed")
