#!/usr/bin/env python3
# test_dump — `crisp dump` on real tasks (dump-target), run under a
# subreaper that kills and reaps everything it started:
#  - dump -R: the task keeps running with memory and threads unchanged;
#  - every image decodes with crit (when given) exactly as crisp-img decodes
#    it, and `crisp-img check` passes; one core per thread;
#  - failures (no such pid, unwritable dir, an open fd): exit 1, a clear
#    message, the task still running and unchanged, no inventory.img;
#  - dump without -R kills the task.
# usage: test_dump.py CRISP DUMP_TARGET CRISP_IMG [CRIT]
import ctypes, json, os, signal, subprocess, sys, tempfile, time

crisp, target, tool = sys.argv[1:4]
crit = sys.argv[4] if len(sys.argv) > 4 else None
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

def wait_file(path, pid):
    for _ in range(2000):
        if os.path.exists(path):
            return True
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
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

def state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"

def verify(pid, work):
    os.kill(pid, signal.SIGUSR1)
    path = os.path.join(work, "verdict")
    for _ in range(6000):
        if os.path.exists(path):
            break
        time.sleep(0.005)
    os.waitpid(pid, 0)
    started.remove(pid)
    try:
        return open(path).read().strip()
    except OSError:
        return "no verdict"

def dump(pid, imgs, *extra):
    os.makedirs(imgs, exist_ok=True)
    return subprocess.run([crisp, "dump", "-t", str(pid), "-D", imgs, "-v4"] + list(extra),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)

def decode(cmd, path):
    return subprocess.run([cmd, "decode", "-i", path], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)

tmp = tempfile.mkdtemp(prefix="crisp-dump-test-")
try:
    # (1) + (2) + (5): dump -R of a task with 4 threads and 8 MiB
    work = os.path.join(tmp, "run"); imgs = os.path.join(tmp, "img")
    pid = start(work, "--threads", "4", "--mib", "8")
    tids = sorted(int(t) for t in os.listdir("/proc/%d/task" % pid))
    r = dump(pid, imgs, "-R", "--display-stats")
    err = r.stderr.decode()
    ok(r.returncode == 0, "dump -R failed: " + err[-2000:])
    ok("Dumping finished successfully" in err, "no success message at info level")
    ok("Memory pages written:" in r.stdout.decode(), "--display-stats printed no stats")
    ok(state(pid) in ("S", "R"), "after dump -R the task is in state " + state(pid))
    names = sorted(os.listdir(imgs))
    for want in ["inventory.img", "pstree.img", "files.img", "stats-dump",
                 "mm-%d.img" % pid, "pagemap-%d.img" % pid, "pages-1.img",
                 "fs-%d.img" % pid, "ids-%d.img" % pid]:
        ok(want in names, "the dump lacks " + want)
    for t in tids:
        ok("core-%d.img" % t in names, "no core image for thread %d" % t)
    pages_size = os.path.getsize(os.path.join(imgs, "pages-1.img"))
    # the 8 MiB region has 1536 non-zero pages; zero pages are not written
    ok(pages_size >= 1536 * 4096, "pages-1.img holds %d bytes, less than the pattern" % pages_size)
    ok(pages_size < 2048 * 4096,
       "pages-1.img holds %d bytes: zero pages were written" % pages_size)
    r = subprocess.run([tool, "check", imgs], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    ok(r.returncode == 0, "crisp-img check: " + r.stdout.decode())
    pst = json.loads(decode(tool, os.path.join(imgs, "pstree.img")).stdout)
    ok(sorted(pst["entries"][0]["threads"]) == tids, "pstree threads differ from /proc")
    for t in tids:
        core = json.loads(decode(tool, os.path.join(imgs, "core-%d.img" % t)).stdout)
        e = core["entries"][0]
        ok("thread_info" in e and "thread_core" in e, "core-%d.img lacks thread state" % t)
        ok(("tc" in e) == (t == pid), "core-%d.img: the task core belongs to the leader only" % t)
    for n in names:
        if n.startswith("pages-"):
            continue        # raw page data: no magic, nothing to decode
        ours = decode(tool, os.path.join(imgs, n))
        ok(ours.returncode == 0, "crisp-img cannot decode " + n)
        if crit:
            theirs = decode(crit, os.path.join(imgs, n))
            ok(theirs.returncode == 0, "crit cannot decode %s: %s" % (n, theirs.stderr.decode()[-300:]))
            ok(theirs.stdout == ours.stdout, "crit and crisp-img disagree on " + n)
    ok(verify(pid, work) == "ok", "the task changed after dump -R")

    # (3) failure paths; the task must run on unchanged
    work = os.path.join(tmp, "run-f"); pid = start(work, "--threads", "1", "--mib", "2")
    r = dump(4194304 + 7, os.path.join(tmp, "img-nopid"))
    ok(r.returncode == 1, "dump of a non-existent pid exits %d" % r.returncode)
    ok(b"no process with pid" in r.stderr, "no clear message for a missing pid")
    ok(not os.path.exists(os.path.join(tmp, "img-nopid", "inventory.img")), "inventory left (no pid)")

    ro = os.path.join(tmp, "ro")
    os.makedirs(ro)
    ok(subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "none", ro]).returncode == 0,
       "cannot mount a read-only tmpfs for the unwritable-dir case")
    try:
        r = subprocess.run([crisp, "dump", "-t", str(pid), "-D", ro, "-R"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        ok(r.returncode == 1, "dump into a read-only dir exits %d" % r.returncode)
        ok(b"cannot write into the images directory" in r.stderr,
           "no clear message for an unwritable dir: " + r.stderr.decode()[-300:])
        ok(state(pid) in ("S", "R"), "after the failed dump the task is " + state(pid))
    finally:
        subprocess.run(["umount", ro])
    ok(verify(pid, work) == "ok", "the task changed after failed dumps")

    work = os.path.join(tmp, "run-fd"); pid = start(work, "--keep-fd")
    imgs = os.path.join(tmp, "img-fd")
    r = dump(pid, imgs)
    ok(r.returncode == 1, "dump of a task with an open pipe exits %d" % r.returncode)
    ok(b"is a pipe (pipe:[" in r.stderr and ("task %d" % pid).encode() in r.stderr,
       "the refusal does not name the task, the fd and its target: " + r.stderr.decode()[-300:])
    ok(not os.path.exists(os.path.join(imgs, "inventory.img")), "inventory.img left after a refusal")
    ok(os.listdir(imgs) == [], "files left after a refusal: %s" % os.listdir(imgs))
    ok(state(pid) in ("S", "R"), "after the refusal the task is " + state(pid))
    ok(verify(pid, work) == "ok", "the task changed after a refused dump")

    # (4) without -R the task is killed after the dump
    work = os.path.join(tmp, "run-k"); pid = start(work, "--threads", "2")
    imgs = os.path.join(tmp, "img-k")
    r = dump(pid, imgs)
    ok(r.returncode == 0, "dump (kill) failed: " + r.stderr.decode()[-1000:])
    _, st = os.waitpid(pid, 0)
    started.remove(pid)
    ok(os.WIFSIGNALED(st) and os.WTERMSIG(st) == signal.SIGKILL,
       "the dumped task was not killed (status %#x)" % st)
    ok(os.path.exists(os.path.join(imgs, "inventory.img")), "dump (kill) wrote no inventory.img")
    r = subprocess.run([tool, "check", imgs], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    ok(r.returncode == 0, "crisp-img check after dump (kill): " + r.stdout.decode())
finally:
    for p in started:
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass
    while True:
        try:
            if os.waitpid(-1, 0)[0] <= 0:
                break
        except ChildProcessError:
            break
    subprocess.run(["rm", "-rf", tmp])

print("%d failures" % len(failures))
sys.exit(1 if failures else 0)
