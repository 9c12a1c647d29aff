"""termagent's seccomp filter, played against by a process in the real sandbox: no setuid or
setgid file, device node, file capability or new namespace, by any system call that could make
one; the same attacks in a container without the filter succeed (so these tests can fail);
normal work (chmod, cp -a, tar, git, dpkg, ptrace) still works."""

from __future__ import annotations

import ctypes
import io
import json
import platform
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from termagent.sandbox.seccomp import docker_profile, setuid_loophole

ATTACKS = (Path(__file__).with_name("seccomp_attacks.py")).read_text(encoding="utf-8")
EPERM, EMFILE, ENOSYS, EOPNOTSUPP = 1, 24, 38, 95
MODE_CALLS = ("chmod", "fchmod", "fchmodat", "fchmodat2", "open", "openat", "creat", "mknod", "mknodat")
# Named in the profile for newer engines, unknown to libseccomp 2.5.4 (Linux 6.13 and later).
NEWER_THAN_LIBSECCOMP = {"setxattrat", "open_tree_attr"}
DEFAULT_CAPABILITIES = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "SETUID", "SETGID", "KILL"]


def attack(container) -> dict:
    code, output = container.exec_run(["python3", "-c", ATTACKS])
    assert code == 0, output
    return json.loads(output)


@pytest.fixture
def unfiltered(docker_client, sandbox_image):
    """A container like the sandbox (same capabilities, no-new-privileges) but without termagent's filter."""
    container = docker_client.containers.run(
        sandbox_image,
        ["sleep", "infinity"],
        detach=True,
        network_mode="none",
        cap_drop=["ALL"],
        cap_add=DEFAULT_CAPABILITIES,
        security_opt=["no-new-privileges", "seccomp=unconfined"],
    )
    yield container
    container.remove(force=True)


def test_the_profile_is_docker_json_naming_real_calls():
    profile = json.loads(docker_profile())
    assert profile["defaultAction"] == "SCMP_ACT_ALLOW"
    assert {entry["architecture"] for entry in profile["archMap"]} >= {"SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"}
    names = {name for rule in profile["syscalls"] for name in rule["names"]}
    assert set(MODE_CALLS) | {"io_uring_setup", "openat2", "setxattr", "unshare", "clone"} <= names
    try:
        libseccomp = ctypes.CDLL("libseccomp.so.2")
    except OSError:
        pytest.skip("no libseccomp on this machine to resolve the names with")
    resolve = libseccomp.seccomp_syscall_resolve_name_arch
    architectures = [libseccomp.seccomp_arch_resolve_name(arch) for arch in (b"x86_64", b"aarch64")]
    unknown = {name for name in names if all(resolve(arch, name.encode()) < 0 for arch in architectures)}
    assert unknown <= NEWER_THAN_LIBSECCOMP, f"not system calls (typos?): {unknown - NEWER_THAN_LIBSECCOMP}"


@pytest.mark.docker
@pytest.mark.parametrize("profile", ["default", "strict"])
def test_no_call_makes_a_setuid_setgid_device_or_capability_file(sandbox_factory, profile):
    sandbox = sandbox_factory(profile)
    found = attack(sandbox.container)
    for name in MODE_CALLS:
        if f"{name}-plain" not in found:  # not a call of this architecture
            continue
        assert found[f"{name}-plain"][0] >= 0, (name, found[f"{name}-plain"])  # the call itself works
        for label in ("setuid", "setgid"):
            value, error, mode = found[f"{name}-{label}"]
            assert (value, error) == (-1, EPERM), (name, label, found[f"{name}-{label}"])
            assert mode is None or not mode & 0o6000, (name, label, oct(mode))
    assert found["openat-tmpfile-setuid"][:2] == [-1, EPERM]
    assert found["mknod-device"][:2] == [-1, EPERM]
    assert found["setxattr-capability"][:2] == [-1, EOPNOTSUPP]
    assert found["setxattr-user"][:2] == [-1, EOPNOTSUPP]
    assert found["setxattrat-capability"][0] == -1 and not found["capability-present"]
    assert setuid_loophole(sandbox.container) is None


@pytest.mark.docker
def test_namespaces_io_uring_and_keyrings_are_out_of_reach(sandbox_factory):
    found = attack(sandbox_factory().container)
    for case in ("io_uring_setup", "openat2", "clone3"):
        assert found[case][:2] == [-1, ENOSYS], (case, found[case])  # "no such call": callers fall back
    for case in ("clone-newuser", "unshare-newuser", "keyctl"):
        assert found[case][:2] == [-1, EPERM], (case, found[case])
    assert found["clone-plain"][0] > 0  # fork still works
    # inotify slots are the host root's, counted host-wide: none for the sandbox to take.
    assert found["inotify_init1"][:2] == [-1, EMFILE]


@pytest.mark.docker
def test_without_the_filter_the_same_attacks_succeed(unfiltered):
    """The control: the checks above would catch a filter that does not hold."""
    found = attack(unfiltered)
    assert found["chmod-setuid"] == [0, 0, 0o4755] and found["openat-setgid"][2] == 0o2755
    assert found["io_uring_setup"][0] >= 0 and found["unshare-newuser"][0] == 0 and found["setxattr-user"][0] == 0
    assert "chmod 4755" in setuid_loophole(unfiltered)


I386_CHMOD = r"""
/* chmod(path, 04755) through the i386 system call ABI (int 0x80, call 15) from a 64-bit process;
   exits with the call's errno. */
static const char path[] = "/tmp/i386-target";
void _start(void) {
    long ret;
    __asm__ volatile ("int $0x80" : "=a"(ret) : "a"(15), "b"(path), "c"(04755) : "memory");
    __asm__ volatile ("syscall" :: "a"(60), "D"(ret < 0 ? -ret : 0));
    for (;;) {}
}
"""


@pytest.fixture(scope="module")
def i386_chmod(tmp_path_factory) -> Path:
    if platform.machine() != "x86_64" or shutil.which("gcc") is None:
        pytest.skip("needs an x86_64 host with gcc")
    work = tmp_path_factory.mktemp("i386")
    (work / "chmod.c").write_text(I386_CHMOD)
    program = work / "i386-chmod"
    subprocess.run(
        ["gcc", "-static", "-nostdlib", "-no-pie", "-O1", "-o", str(program), str(work / "chmod.c")],
        check=True,
        timeout=120,
    )
    target = Path("/tmp/i386-target")
    target.write_bytes(b"")
    try:
        ran = subprocess.run([str(program)], timeout=60)
        if ran.returncode != 0 or not target.stat().st_mode & 0o4000:
            pytest.skip("this kernel does not run i386 system calls")
    finally:
        target.unlink()
    return program


def put_file(container, path: Path, destination: str) -> None:
    data = path.read_bytes()
    stream = io.BytesIO()
    with tarfile.open(fileobj=stream, mode="w") as archive:
        member = tarfile.TarInfo(Path(destination).name)
        member.size, member.mode = len(data), 0o755
        archive.addfile(member, io.BytesIO(data))
    container.put_archive(str(Path(destination).parent), stream.getvalue())


@pytest.mark.docker
def test_i386_calls_get_the_same_rules(sandbox_factory, unfiltered, i386_chmod):
    for container, errno_wanted, mode_wanted in ((sandbox_factory().container, EPERM, "600"), (unfiltered, 0, "4755")):
        put_file(container, i386_chmod, "/usr/local/bin/i386-chmod")
        code, output = container.exec_run(
            [
                "sh",
                "-c",
                "touch /tmp/i386-target && chmod 600 /tmp/i386-target && "
                "i386-chmod; echo \"errno $?\"; stat -c 'mode %a' /tmp/i386-target",
            ]
        )
        assert f"errno {errno_wanted}\nmode {mode_wanted}" in output.decode(), output


@pytest.mark.docker
def test_normal_work_still_works(shell):
    """What a model does all day, through the sandbox's shell: chmod, cp -a, tar, git, ptrace."""
    script = (
        "mkdir -p /tmp/w/src/sub && cd /tmp/w && echo hi > src/sub/a && chmod 750 src/sub/a && "
        "chmod u+x,g-w src/sub && cp -a src copy && tar -cf t.tar src && mkdir x && tar -xpf t.tar -C x && "
        "stat -c %a copy/sub/a x/src/sub/a && git init -q repo && cd repo && echo x > f && git add f && "
        "git -c user.email=a@b -c user.name=a commit -qm one && git log --oneline | wc -l && "
        "python3 -c 'import ctypes, os; pid = os.fork()\n"
        "if pid == 0: os._exit(ctypes.CDLL(None).ptrace(0, 0, 0, 0))\n"
        'print("ptrace", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))\'; echo all-done\n'
    )
    result = shell.run(script, duration=30)
    assert result.finished and result.exit_status == 0, result.output
    assert "750\n750\n1\nptrace 0\nall-done" in result.output.replace("\r", "")
    refused = shell.run("touch /tmp/s && chmod u+s /tmp/s; echo status=$?\n", duration=10)
    assert "Operation not permitted" in refused.output and "status=1" in refused.output


def build_deb(directory: Path, name: str, mode: int) -> Path:
    root = directory / name
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {name}\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@example.com>\nDescription: test\n"
    )
    program = root / "usr" / "local" / "bin" / name
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\necho ran\n")
    program.chmod(mode)
    deb = directory / f"{name}.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-b", str(root), str(deb)], check=True, capture_output=True, timeout=120
    )
    return deb


@pytest.mark.docker
def test_dpkg_installs_packages_but_not_setuid_programs(sandbox_factory, tmp_path):
    if shutil.which("dpkg-deb") is None:
        pytest.skip("needs dpkg-deb on the host to build the packages")
    sandbox = sandbox_factory()
    for deb in (build_deb(tmp_path, "ta-plain", 0o755), build_deb(tmp_path, "ta-setuid", 0o4755)):
        put_file(sandbox.container, deb, f"/var/tmp/{deb.name}")
    code, output = sandbox.container.exec_run(["dpkg", "-i", "/var/tmp/ta-plain.deb"])
    assert code == 0, output
    assert sandbox.container.exec_run(["ta-plain"]).output == b"ran\n"
    code, output = sandbox.container.exec_run(["dpkg", "-i", "/var/tmp/ta-setuid.deb"])
    # dpkg says which file and why, and leaves nothing half-installed with the bit.
    assert code != 0 and b"ta-setuid" in output and b"Operation not permitted" in output, output
    code, output = sandbox.container.exec_run(["find", "/usr/local", "-perm", "/6000"])
    assert code == 0 and output == b"", output


@pytest.mark.docker
def test_the_check_names_a_capability_that_would_undo_the_filter(sandbox_factory):
    sandbox = sandbox_factory(cap_add=[*DEFAULT_CAPABILITIES, "SETFCAP"])
    assert "CAP_SETFCAP" in setuid_loophole(sandbox.container)
