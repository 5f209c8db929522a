"""The sandbox child's syscall allow-list: the one reviewed place that says what a model's process may ask the kernel.

Everything not named here fails with EPERM. Measured with ``strace -f -c`` on the warm worker's children
running the full suite (SHAP included: TreeExplainer, the permutation explainer's numba code, exact linear)
and ``predict`` for a random forest, HistGradientBoosting, XGBoost, LightGBM (OpenMP threads), k-NN and a
scaled logistic pipeline, plus what glibc and CPython need for memory, threads, time and signals.

Deliberately absent (review before adding any): process creation and exec, sockets and fd passing (the
child only writes to the descriptors it was given), ``shutdown`` (it would end the parent's read early),
chmod/chown/utime/xattr/mknod/link/symlink families, mount and the new mount API (``fsopen``,
``open_tree``...), namespaces, ptrace and cross-process memory, ``syslog``, keyrings, bpf, perf,
io_uring, userfaultfd, identity changes, ``capset``, ``personality``, ``pidfd_*``.
"""
from __future__ import annotations

# Allowed with any arguments: they act on this process, its memory, or the files Landlock lets it reach.
ALLOWED = (
    # memory
    "brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "mincore", "get_mempolicy", "membarrier",
    # threads and synchronisation
    "futex", "futex_waitv", "set_robust_list", "get_robust_list", "set_tid_address", "rseq", "sched_yield",
    "gettid", "arch_prctl", "exit", "exit_group", "restart_syscall",
    # signals to itself (kill/tgkill/sigqueue are below, bound to this process)
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending", "rt_sigsuspend", "rt_sigtimedwait",
    "sigaltstack",
    # time
    "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday", "time", "times",
    # files (Landlock decides which)
    "read", "readv", "pread64", "preadv", "preadv2", "write", "writev", "pwrite64", "pwritev", "pwritev2",
    "openat", "open", "close", "close_range", "lseek", "fstat", "stat", "lstat", "newfstatat", "statx",
    "statfs", "fstatfs", "access", "faccessat", "faccessat2", "readlink", "readlinkat", "getdents64",
    "getcwd", "chdir", "fchdir", "mkdir", "mkdirat", "rmdir", "unlink", "unlinkat", "rename", "renameat",
    "renameat2", "ftruncate", "truncate", "fallocate", "fsync", "fdatasync", "fadvise64", "flock", "fcntl",
    "dup", "dup2", "dup3", "umask", "sendfile", "copy_file_range",
    "poll", "ppoll", "select", "pselect6",
    # who and where am I
    "getpid", "getppid", "getuid", "geteuid", "getgid", "getegid", "getgroups", "getresuid", "getresgid",
    "getpgrp", "getpgid", "getsid", "uname", "sysinfo", "getrusage", "getrlimit", "setrlimit", "getrandom",
    "getcpu", "sched_get_priority_max", "sched_get_priority_min",
)

# ioctl requests (second argument): isatty() and non-blocking mode; nothing that reaches a device.
IOCTLS = {"TCGETS": 0x5401, "TIOCGWINSZ": 0x5413, "FIONREAD": 0x541B, "FIONBIO": 0x5421, "FIONCLEX": 0x5450,
          "FIOCLEX": 0x5451}

# prctl options: thread names, reading its own state.
PRCTLS = {"PR_GET_DUMPABLE": 3, "PR_SET_NAME": 15, "PR_GET_NAME": 16, "PR_CAPBSET_READ": 23,
          "PR_GET_SECUREBITS": 27, "PR_GET_NO_NEW_PRIVS": 39, "PR_SET_VMA": 0x53564D41}

# Allowed only when argument 0 names this process (its pid) or, where the kernel reads 0 as "myself", 0.
SELF_AT_ARG0 = ("tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo")
SELF_OR_ZERO_AT_ARG0 = ("kill", "prlimit64", "sched_getaffinity", "sched_setaffinity", "sched_getparam",
                        "sched_setparam", "sched_getscheduler", "sched_setscheduler", "sched_getattr",
                        "sched_setattr")
# Allowed only when argument 0 names the suite's sibling process (``core.sandbox.sibling``), forked before the filter:
# the child learns how it ended. Never any other pid, a process group, or "any child".
SIBLING_AT_ARG0 = ("wait4",)
# getpriority/setpriority(PRIO_PROCESS, 0 or this pid): not a process group, not a user, not another pid.
PRIORITY = ("getpriority", "setpriority")

CLONE_THREAD = 0x00010000
CLONE_NAMESPACES = 0x7E020000  # NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET
