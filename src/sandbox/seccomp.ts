/**
 * The sandbox's seccomp filter: an allow-list of system calls (below, documented in
 * docs/sandbox.md), compiled to BPF with libseccomp and loaded by bwrap (`--seccomp FD`). Every
 * other system call fails with EPERM (clone3 with ENOSYS, so the C library falls back to clone,
 * which namespaces already restrict). The list follows what ordinary programs (shells, coreutils,
 * Python, Node.js, compilers) need, and leaves out what only attacks the kernel or the host:
 * mount and namespace calls, module loading, kexec, reboot, BPF, perf events, keyrings,
 * ptrace and cross-process memory access, io_uring, userfaultfd, clock setting, quotas, swap.
 *
 * The compiler is a small C program built once per allow-list (cached by digest beside the
 * sandboxes) with the system C compiler against libseccomp (Debian: libseccomp-dev). Without
 * them the filter is reported as not enforced, never silently skipped.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** System calls the sandbox may make. Anything else: EPERM. */
export const SECCOMP_ALLOW: readonly string[] = [
  // files and directories
  'read', 'write', 'open', 'openat', 'openat2', 'close', 'close_range', 'creat', 'stat', 'fstat', 'lstat', 'newfstatat', 'statx', 'statfs', 'fstatfs',
  'lseek', 'pread64', 'pwrite64', 'readv', 'writev', 'preadv', 'pwritev', 'preadv2', 'pwritev2', 'access', 'faccessat', 'faccessat2',
  'getdents', 'getdents64', 'getcwd', 'chdir', 'fchdir', 'rename', 'renameat', 'renameat2', 'mkdir', 'mkdirat', 'rmdir', 'link', 'linkat',
  'unlink', 'unlinkat', 'symlink', 'symlinkat', 'readlink', 'readlinkat', 'chmod', 'fchmod', 'fchmodat', 'chown', 'fchown', 'lchown', 'fchownat',
  'umask', 'truncate', 'ftruncate', 'fallocate', 'fsync', 'fdatasync', 'sync', 'syncfs', 'sync_file_range', 'flock', 'fcntl', 'dup', 'dup2', 'dup3',
  'pipe', 'pipe2', 'mknod', 'mknodat', 'utime', 'utimes', 'utimensat', 'futimesat', 'sendfile', 'copy_file_range', 'splice', 'tee', 'vmsplice',
  'fadvise64', 'readahead', 'getxattr', 'lgetxattr', 'fgetxattr', 'listxattr', 'llistxattr', 'flistxattr', 'setxattr', 'lsetxattr', 'fsetxattr',
  'removexattr', 'lremovexattr', 'fremovexattr', 'inotify_init', 'inotify_init1', 'inotify_add_watch', 'inotify_rm_watch', 'memfd_create', 'ioctl',
  // memory
  'mmap', 'munmap', 'mprotect', 'mremap', 'msync', 'mincore', 'madvise', 'brk', 'mlock', 'mlock2', 'munlock', 'mlockall', 'munlockall', 'membarrier',
  'get_mempolicy', 'set_mempolicy', 'mbind', 'pkey_alloc', 'pkey_free', 'pkey_mprotect',
  // processes, threads, signals
  'clone', 'fork', 'vfork', 'execve', 'execveat', 'exit', 'exit_group', 'wait4', 'waitid', 'kill', 'tkill', 'tgkill', 'getpid', 'getppid', 'gettid',
  'getpgid', 'setpgid', 'getpgrp', 'getsid', 'setsid', 'getuid', 'geteuid', 'getgid', 'getegid', 'getresuid', 'getresgid', 'getgroups',
  'setuid', 'setgid', 'setreuid', 'setregid', 'setresuid', 'setresgid', 'setgroups', 'setfsuid', 'setfsgid', 'capget', 'capset', 'prctl', 'arch_prctl',
  'set_tid_address', 'set_robust_list', 'get_robust_list', 'rseq', 'futex', 'futex_waitv', 'sched_yield', 'sched_getaffinity', 'sched_setaffinity',
  'sched_getparam', 'sched_setparam', 'sched_getscheduler', 'sched_setscheduler', 'sched_get_priority_max', 'sched_get_priority_min',
  'sched_rr_get_interval', 'sched_getattr', 'sched_setattr', 'getpriority', 'setpriority', 'getrlimit', 'setrlimit', 'prlimit64', 'getrusage', 'times',
  'rt_sigaction', 'rt_sigprocmask', 'rt_sigreturn', 'rt_sigpending', 'rt_sigtimedwait', 'rt_sigqueueinfo', 'rt_tgsigqueueinfo', 'rt_sigsuspend',
  'sigaltstack', 'signalfd', 'signalfd4', 'pidfd_open', 'pidfd_send_signal', 'pidfd_getfd', 'pause', 'alarm', 'getitimer', 'setitimer', 'uname',
  'sysinfo', 'getrandom', 'personality', 'ioprio_get', 'ioprio_set', 'getcpu', 'restart_syscall',
  // time
  'nanosleep', 'clock_nanosleep', 'clock_gettime', 'clock_getres', 'gettimeofday', 'time', 'timer_create', 'timer_settime', 'timer_gettime',
  'timer_getoverrun', 'timer_delete', 'timerfd_create', 'timerfd_settime', 'timerfd_gettime',
  // polling, events, IPC
  'poll', 'ppoll', 'select', 'pselect6', 'epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_wait', 'epoll_pwait', 'epoll_pwait2', 'eventfd', 'eventfd2',
  'shmget', 'shmat', 'shmdt', 'shmctl', 'semget', 'semop', 'semtimedop', 'semctl', 'msgget', 'msgsnd', 'msgrcv', 'msgctl',
  'mq_open', 'mq_unlink', 'mq_timedsend', 'mq_timedreceive', 'mq_notify', 'mq_getsetattr',
  // sockets (the network namespace holds only loopback)
  'socket', 'socketpair', 'bind', 'listen', 'accept', 'accept4', 'connect', 'getsockname', 'getpeername', 'sendto', 'recvfrom', 'sendmsg', 'recvmsg',
  'sendmmsg', 'recvmmsg', 'shutdown', 'setsockopt', 'getsockopt',
];

/** Left out on purpose (documentation; the filter denies everything not allowed): what only attacks the kernel or the host. */
export const SECCOMP_DENIED_EXAMPLES: readonly string[] = [
  'mount', 'umount2', 'pivot_root', 'chroot', 'unshare', 'setns', 'clone3', 'init_module', 'finit_module', 'delete_module', 'kexec_load', 'kexec_file_load',
  'reboot', 'bpf', 'perf_event_open', 'keyctl', 'add_key', 'request_key', 'ptrace', 'process_vm_readv', 'process_vm_writev', 'kcmp', 'io_uring_setup',
  'io_uring_enter', 'io_uring_register', 'userfaultfd', 'settimeofday', 'clock_settime', 'clock_adjtime', 'adjtimex', 'quotactl', 'swapon', 'swapoff',
  'acct', 'syslog', 'open_by_handle_at', 'name_to_handle_at', 'fanotify_init', 'lookup_dcookie', 'iopl', 'ioperm', 'uselib', 'move_pages',
  'fsopen', 'fsmount', 'fsconfig', 'move_mount', 'open_tree', 'mount_setattr', 'landlock_create_ruleset',
];

const GENERATOR_C = `#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdio.h>
#include <unistd.h>
/* argv[1]: output file; argv[2..]: system calls to allow. Default EPERM; clone3 ENOSYS (libc falls back to clone). */
int main(int argc, char **argv) {
  if (argc < 3) return 2;
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
  if (!ctx) return 3;
  for (int i = 2; i < argc; i++) {
    int nr = seccomp_syscall_resolve_name(argv[i]);
    if (nr == __NR_SCMP_ERROR) { fprintf(stderr, "unknown:%s\\n", argv[i]); continue; }
    if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) < 0) { fprintf(stderr, "skipped:%s\\n", argv[i]); continue; }
  }
  int c3 = seccomp_syscall_resolve_name("clone3");
  if (c3 != __NR_SCMP_ERROR) seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), c3, 0);
  int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return 4;
  if (seccomp_export_bpf(ctx, fd) < 0) return 5;
  close(fd);
  seccomp_release(ctx);
  return 0;
}
`;

export interface SeccompFilter {
  /** The compiled BPF program (pass an fd of it to `bwrap --seccomp FD`), or null when not enforced. */
  bpfPath: string | null;
  /** How it is enforced, or "not enforced: <why>". */
  status: string;
}

/** Compiles the allow-list (cached under `cacheDir` by digest). Never throws: failure is reported in `status`. */
export function compileSeccomp(cacheDir: string, allow: readonly string[] = SECCOMP_ALLOW): SeccompFilter {
  if (process.arch !== 'x64' && process.arch !== 'arm64') return { bpfPath: null, status: `not enforced: no filter for ${process.arch}` };
  const digest = createHash('sha256').update(GENERATOR_C).update('\0').update(allow.join(',')).update(process.arch).digest('hex').slice(0, 16);
  const dir = join(cacheDir, '.seccomp', digest);
  const bpf = join(dir, 'filter.bpf');
  const how = `enforced: ${allow.length}-call allow-list (src/sandbox/seccomp.ts), others EPERM; filter ${digest}`;
  if (existsSync(bpf)) return { bpfPath: bpf, status: how };
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const src = join(dir, 'gen.c');
    const exe = join(dir, `gen-${process.pid}`);
    writeFileSync(src, GENERATOR_C);
    const env = { PATH: '/usr/local/bin:/usr/bin:/bin' };
    const cc = spawnSync('cc', ['-O1', '-o', exe, src, '-lseccomp'], { encoding: 'utf8', env, timeout: 60_000 });
    if (cc.status !== 0) return { bpfPath: null, status: `not enforced: cannot build the filter compiler (needs a C compiler and libseccomp-dev): ${(cc.stderr || cc.error?.message || '').trim().split('\n').slice(-2).join(' ')}` };
    const tmpOut = `${bpf}.${process.pid}.tmp`;
    const g = spawnSync(exe, [tmpOut, ...allow], { encoding: 'utf8', env, timeout: 30_000 });
    if (g.status !== 0) return { bpfPath: null, status: `not enforced: the filter compiler failed (exit ${g.status}): ${(g.stderr || '').trim().slice(0, 200)}` };
    renameSync(tmpOut, bpf);
    return { bpfPath: bpf, status: how };
  } catch (e) {
    return { bpfPath: null, status: `not enforced: ${(e as Error).message}` };
  }
}
