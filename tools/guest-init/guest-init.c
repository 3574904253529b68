// SPDX-License-Identifier: GPL-2.0
/*
 * /init of the tiny initramfs booted by the guest scenarios: mounts /proc,
 * /sys and /dev, runs "/bin/sh /run.sh" on the console if the initramfs has
 * one (and reports its exit status), prints the marker the test wrote into
 * /marker and powers the domain off. Static, so it needs nothing else.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void put(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) < 0)
		return;
}

static void run_script(int con)
{
	char msg[64];
	int status;
	pid_t pid;

	if (access("/run.sh", R_OK))
		return;
	pid = fork();
	if (pid == 0) {
		char *argv[] = { "/bin/sh", "/run.sh", NULL };
		char *envp[] = { "PATH=/bin:/sbin:/usr/bin:/usr/sbin",
				 "HOME=/", NULL };

		dup2(con, 0);
		dup2(con, 1);
		dup2(con, 2);
		execve(argv[0], argv, envp);
		put(con, "xen-m2p guest init: cannot exec /bin/sh\n");
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid) {
		put(con, "xen-m2p guest init: run.sh did not run\n");
		return;
	}
	snprintf(msg, sizeof(msg), "xen-m2p guest init: run.sh exit %d\n",
		 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	put(con, msg);
}

int main(void)
{
	char marker[128] = "(no marker)";
	int fd, con;
	ssize_t n;

	mkdir("/dev", 0755);
	mkdir("/proc", 0755);
	mkdir("/sys", 0755);
	mkdir("/tmp", 01777);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	con = open("/dev/hvc0", O_RDWR | O_NOCTTY);
	if (con < 0)
		con = open("/dev/console", O_RDWR | O_NOCTTY);
	run_script(con);
	fd = open("/marker", O_RDONLY);
	if (fd >= 0) {
		n = read(fd, marker, sizeof(marker) - 1);
		marker[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	put(con, "\nxen-m2p guest init: marker ");
	put(con, marker);
	put(con, "\nxen-m2p guest init: powering off\n");
	fsync(con);
	sync();
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}
