"""Run inside a container (python3 -c): makes the system calls an attacker would, raw, and prints
one JSON object {case: [return value, errno, mode of the file afterwards or null]}.

Raw calls, not libc wrappers, so each call is exactly the one named (glibc may route chmod
through fchmodat, and so on). Only the running architecture's table is used."""

import ctypes
import json
import os
import platform
import stat
import struct
import tempfile

NUMBERS = {
    "x86_64": {
        "chmod": 90,
        "fchmod": 91,
        "fchmodat": 268,
        "fchmodat2": 452,
        "open": 2,
        "openat": 257,
        "creat": 85,
        "mknod": 133,
        "mknodat": 259,
        "clone": 56,
        "clone3": 435,
        "openat2": 437,
        "io_uring_setup": 425,
        "setxattrat": 463,
        "keyctl": 250,
        "inotify_init1": 294,
        "unshare": 272,
        "setns": 308,
    },
    "aarch64": {
        "fchmod": 52,
        "fchmodat": 53,
        "fchmodat2": 452,
        "openat": 56,
        "mknodat": 33,
        "clone": 220,
        "clone3": 435,
        "openat2": 437,
        "io_uring_setup": 425,
        "setxattrat": 463,
        "keyctl": 219,
        "inotify_init1": 26,
        "unshare": 97,
        "setns": 268,
    },
}[platform.machine()]
AT_FDCWD = -100
CLONE_NEWUSER = 0x10000000
SIGCHLD = 17
KEYCTL_JOIN_SESSION_KEYRING = 1
libc = ctypes.CDLL(None, use_errno=True)
root = tempfile.mkdtemp(dir=os.environ.get("ATTACK_DIR", "/tmp"))
results = {}


def call(name, *args):
    ctypes.set_errno(0)
    value = libc.syscall(
        ctypes.c_long(NUMBERS[name]),
        *(ctypes.c_long(arg) if isinstance(arg, int) else ctypes.c_char_p(arg) for arg in args),
    )
    return value, ctypes.get_errno() if value < 0 else 0


def mode_of(path):
    try:
        return stat.S_IMODE(os.lstat(path).st_mode)
    except FileNotFoundError:
        return None


def record(case, path, outcome):
    results[case] = [outcome[0], outcome[1], mode_of(path)]


def fresh(case, create):
    path = os.path.join(root, case).encode()
    if create:
        with open(path, "wb"):
            pass
        os.chmod(path, 0o600)
    return path


MODE_CALLS = {
    "chmod": (True, lambda path, mode: call("chmod", path, mode)),
    "fchmodat": (True, lambda path, mode: call("fchmodat", AT_FDCWD, path, mode)),
    "fchmodat2": (True, lambda path, mode: call("fchmodat2", AT_FDCWD, path, mode, 0)),
    "open": (False, lambda path, mode: call("open", path, os.O_CREAT | os.O_WRONLY, mode)),
    "openat": (False, lambda path, mode: call("openat", AT_FDCWD, path, os.O_CREAT | os.O_WRONLY, mode)),
    "creat": (False, lambda path, mode: call("creat", path, mode)),
    "mknod": (False, lambda path, mode: call("mknod", path, stat.S_IFREG | mode, 0)),
    "mknodat": (False, lambda path, mode: call("mknodat", AT_FDCWD, path, stat.S_IFREG | mode, 0)),
}


def fchmod(path, mode):
    fd = os.open(path, os.O_RDONLY)
    try:
        return call("fchmod", fd, mode)
    finally:
        os.close(fd)


MODE_CALLS["fchmod"] = (True, fchmod)

for name, (needs_file, attempt) in MODE_CALLS.items():
    if name not in NUMBERS:
        continue
    for label, mode in (("setuid", 0o4755), ("setgid", 0o2755), ("plain", 0o755)):
        case = f"{name}-{label}"
        path = fresh(case, needs_file)
        record(case, path, attempt(path, mode))

# A file made in O_TMPFILE mode and linked in later.
tmpfile = call("openat", AT_FDCWD, root.encode(), os.O_TMPFILE | os.O_WRONLY, 0o4755)
results["openat-tmpfile-setuid"] = [tmpfile[0], tmpfile[1], None]

# Device nodes.
device = os.path.join(root, "null").encode()
record("mknod-device", device, call("mknodat", AT_FDCWD, device, stat.S_IFCHR | 0o666, os.makedev(1, 3)))

# File capabilities: a version-2 security.capability granting CAP_SETUID, effective.
capability = struct.pack("<5I", 0x02000001, 1 << 7, 0, 0, 0)
target = fresh("capability", True)
try:
    os.setxattr(target, "security.capability", capability)
    results["setxattr-capability"] = [0, 0, None]
except OSError as error:
    results["setxattr-capability"] = [-1, error.errno, None]
try:
    os.setxattr(target, "user.note", b"x")
    results["setxattr-user"] = [0, 0, None]
except OSError as error:
    results["setxattr-user"] = [-1, error.errno, None]
name = ctypes.create_string_buffer(b"security.capability")
value = ctypes.create_string_buffer(capability, len(capability))
xattr_args = struct.pack("<QII", ctypes.addressof(value), len(capability), 0)
args_buffer = ctypes.create_string_buffer(xattr_args, len(xattr_args))
results["setxattrat-capability"] = list(
    call("setxattrat", AT_FDCWD, target, 0, ctypes.addressof(name), ctypes.addressof(args_buffer), len(xattr_args))
) + [None]
try:
    os.getxattr(target, "security.capability")
    results["capability-present"] = True
except OSError:
    results["capability-present"] = False

# Calls that do not exist for the sandbox (ENOSYS) or are refused (EPERM).
params = ctypes.create_string_buffer(120)  # struct io_uring_params, written by the kernel
results["io_uring_setup"] = list(call("io_uring_setup", 1, ctypes.addressof(params))) + [None]
how = ctypes.create_string_buffer(struct.pack("<QQQ", os.O_CREAT | os.O_WRONLY, 0o4755, 0), 24)
results["openat2"] = list(
    call("openat2", AT_FDCWD, os.path.join(root, "openat2").encode(), ctypes.addressof(how), 24)
) + [None]
clone_args = ctypes.create_string_buffer(struct.pack("<11Q", CLONE_NEWUSER, 0, 0, 0, SIGCHLD, 0, 0, 0, 0, 0, 0), 88)


def child_of(outcome):
    """The outcome of a clone-like call, the child (if one was made) ended and reaped."""
    if outcome[0] == 0:
        os._exit(0)
    if outcome[0] > 0:
        os.waitpid(outcome[0], 0)
    return list(outcome) + [None]


results["clone3"] = child_of(call("clone3", ctypes.addressof(clone_args), 88))
results["clone-newuser"] = child_of(call("clone", CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0))
results["clone-plain"] = child_of(call("clone", SIGCHLD, 0, 0, 0, 0))
results["unshare-newuser"] = list(call("unshare", CLONE_NEWUSER)) + [None]
results["keyctl"] = list(call("keyctl", KEYCTL_JOIN_SESSION_KEYRING, 0)) + [None]
results["inotify_init1"] = list(call("inotify_init1", 0)) + [None]
print(json.dumps(results))
