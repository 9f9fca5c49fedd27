// Package sut launches a real server program (the system under test) for
// a run and watches it: the process, its own log, the kernel log and its
// listener's accept queue. It is Linux-first; elsewhere Start and the
// watchers return ErrUnsupported.
//
// # Launching
//
// Start launches a Spec — argv, environment, config files from
// text/template templates ({{.Addr}} {{.Host}} {{.Port}} {{.DataDir}}
// {{.RunDir}} and Params; a missing key is an error) — on loopback or in
// a network namespace (a lab cell's target side), with its own
// RLIMIT_NOFILE, and returns once it listens on its ready address. Its
// stdout and stderr go to files in the run directory and, line by line,
// to Spec.OnLine (a LogWatch). Stop (or the end of Start's context) ends
// it and everything it started; the process is always reaped, also when
// the start fails.
//
// How each hard part is done, and why:
//
//   - RLIMIT_NOFILE only for the program, in force at its start-up (tor
//     and redis size themselves from it at once): the child calls
//     PTRACE_TRACEME, stops at the SIGTRAP of its exec, before the
//     program's first instruction; nobufs sets the limit with prlimit(2)
//     and detaches. Setting it with prlimit once Start has returned races
//     the program: measured, 2 to 22 of 50 /bin/cat children read the old
//     limit (TestStartNoFileRace). Where ptrace is refused, Start falls
//     back to that and says so (Info.NoFileMethod "after-start"). The
//     forking thread also drops CAP_SYS_RESOURCE from its bounding and
//     inheritable sets (capabilities are per thread), so the program
//     cannot raise its hard limit again even as root: redis asks for
//     maxclients+32 and haproxy for its maxsock, and with the capability
//     both would undo the limit. That thread is discarded afterwards.
//   - The network namespace: the thread that forks joins the namespace for
//     the fork only (a child starts in the namespace of the thread that
//     forks it) and returns to its own right after; any thread InNetns
//     uses does too. A thread left in another namespace could be the main
//     one, and /proc/self/net (what host-state readers parse) shows the
//     main thread's namespace.
//   - nobufs killed with SIGKILL: the program has Pdeathsig SIGKILL, tied
//     to the forking thread, which stays locked for the program's whole
//     life. As root the program is also the first process of its own PID
//     namespace, so that when it ends the kernel ends all its descendants
//     (nginx's workers) — the only way nothing outlives it when PID 1 does
//     not reap orphans. Its PID and start time are in RunDir/sut.pid;
//     Reap(runDir) ends a recorded program only if that PID still has that
//     start time (PIDs are reused), and its leftover descendants.
//   - Stop: SIGTERM (SIGKILL at once for a namespace's first process that
//     has no SIGTERM handler: it would ignore SIGTERM), SIGKILL after the
//     grace, wait; then SIGKILL to any descendant still there, matched by
//     PID and start time.
//   - Readiness: a LISTEN socket on the ready address held by the program
//     or a descendant, read through sock_diag in its namespace — no probe
//     connection, which would take one of a server's slots (haproxy counted
//     it against maxconn) or show in its log. ReadyConnect makes it a TCP
//     connect. An early exit is an *ExitError with the status and the last
//     output lines (tor: "We need 1000 file descriptors available…").
//
// # Watching
//
// Each watcher is cheap and sampled by the caller once a timeline second:
// PIDWatch (/proc: descriptors and RLIMIT_NOFILE of the process and its
// descendants, RSS, threads, TCP states and accept queues of its network
// namespace), LogWatch (a launched program's lines or a followed log file:
// per class the count, the first time and the first line), KmsgWatch
// (/dev/kmsg from the moment it is opened: "Possible SYN flooding", "TCP:
// out of memory", …), Diag (sock_diag: listeners' accept queue and
// backlog, sockets' buffers, in a given namespace).
//
// # Servers
//
// Tor, Nginx, Redis and HAProxy are table entries: a config template
// (servers/*.tmpl, embedded), argv, parameters with defaults, and rules
// that map each server's own failure lines to classes. Launch starts one
// with all its watchers; docs/real-servers.md has what each does at
// its limits, measured by this package's tests.
package sut
