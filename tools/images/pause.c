/*
 * ironlb-pause: the sandbox ("pause") process of a pod, for the lab's registry.k8s.io/pause
 * image (tools/images/build). It holds the pod's namespaces open and does nothing else:
 *
 *   - it waits, synchronously, for SIGTERM, SIGINT or SIGCHLD (all three blocked, so no
 *     handler runs and nothing is lost between two waits);
 *   - SIGTERM and SIGINT end it with status 0: as PID 1 the kernel drops signals that have
 *     no handler, which is why a plain `sleep` ignores the kubelet's stop request;
 *   - SIGCHLD reaps every exited child, since in a pod sharing one PID namespace this
 *     process is the init that orphans are reparented to.
 *
 * Written for ironlb; built with `gcc -static` so the image holds nothing but this file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define VERSION "ironlb-pause 1.0"

static void reap_children(void)
{
	for (;;) {
		pid_t pid = waitpid(-1, NULL, WNOHANG);
		if (pid > 0)
			continue;
		if (pid < 0 && errno == EINTR)
			continue;
		return; /* 0: children left but none exited; -1/ECHILD: no children */
	}
}

int main(int argc, char **argv)
{
	sigset_t waited;
	int sig;

	if (argc > 1 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0)) {
		puts(VERSION);
		return 0;
	}
	if (getpid() != 1)
		fprintf(stderr, "%s: not PID 1, orphans will not be reaped here\n", VERSION);

	sigemptyset(&waited);
	sigaddset(&waited, SIGTERM);
	sigaddset(&waited, SIGINT);
	sigaddset(&waited, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &waited, NULL) != 0) {
		perror("sigprocmask");
		return 1;
	}
	for (;;) {
		sig = sigwaitinfo(&waited, NULL);
		if (sig < 0) {
			if (errno == EINTR)
				continue;
			perror("sigwaitinfo");
			return 1;
		}
		if (sig == SIGCHLD) {
			reap_children();
			continue;
		}
		fprintf(stderr, "%s: %s, exiting\n", VERSION, strsignal(sig));
		return 0;
	}
}
