// SPDX-License-Identifier: GPL-2.0
/*
 * /init of the tiny initramfs booted by the pygrub-guest scenario: prints
 * the marker the test wrote into /marker on the guest console and powers
 * the domain off. Static, no libc beyond syscalls wrappers.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <unistd.h>

static void put(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) < 0)
		return;
}

int main(void)
{
	char marker[128] = "(no marker)";
	int fd, con;
	ssize_t n;

	mkdir("/dev", 0755);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	con = open("/dev/hvc0", O_WRONLY | O_NOCTTY);
	if (con < 0)
		con = open("/dev/console", O_WRONLY | O_NOCTTY);
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
