/*
 * bench/memsample.c: the memory bench's sampler (bench/memory-run.sh
 * builds it).  Every INTERVAL_US microseconds it reads a cgroup v1 memory
 * directory's use as pg_budget's worker does (memory.usage_in_bytes less
 * memory.stat's total_inactive_file) and prints "epoch_seconds bytes", one
 * line a sample, until SIGTERM or SIGINT (its output flushed then).
 *
 *   memsample CGROUP_DIR INTERVAL_US >samples
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop = 0;

static void
on_signal(int sig)
{
	(void) sig;
	stop = 1;
}

/* The whole of an open file, from its start, into buf; its length or -1. */
static ssize_t
reread(int fd, char *buf, size_t size)
{
	ssize_t		n;
	size_t		got = 0;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return -1;
	while (got < size - 1 && (n = read(fd, buf + got, size - 1 - got)) > 0)
		got += (size_t) n;
	buf[got] = '\0';
	return (ssize_t) got;
}

static unsigned long long
keyed(const char *text, const char *key)
{
	size_t		klen = strlen(key);
	const char *p = text;

	while (p && *p)
	{
		if (strncmp(p, key, klen) == 0 && p[klen] == ' ')
			return strtoull(p + klen + 1, NULL, 10);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	char		path[4096];
	static char stat[65536];
	char		usage[64];
	int			ufd;
	int			sfd;
	long		interval_us;
	struct sigaction sa;

	if (argc != 3)
	{
		fprintf(stderr, "usage: %s CGROUP_DIR INTERVAL_US\n", argv[0]);
		return 2;
	}
	interval_us = atol(argv[2]);
	snprintf(path, sizeof(path), "%s/memory.usage_in_bytes", argv[1]);
	if ((ufd = open(path, O_RDONLY)) < 0)
	{
		perror(path);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/memory.stat", argv[1]);
	if ((sfd = open(path, O_RDONLY)) < 0)
	{
		perror(path);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	setvbuf(stdout, NULL, _IOFBF, 1 << 20);

	while (!stop)
	{
		struct timespec ts;
		struct timespec nap;
		unsigned long long use;
		unsigned long long inactive;

		clock_gettime(CLOCK_REALTIME, &ts);
		if (reread(ufd, usage, sizeof(usage)) <= 0 ||
			reread(sfd, stat, sizeof(stat)) <= 0)
			break;
		use = strtoull(usage, NULL, 10);
		inactive = keyed(stat, "total_inactive_file");
		printf("%lld.%06ld %llu\n", (long long) ts.tv_sec, ts.tv_nsec / 1000,
			   use > inactive ? use - inactive : 0);
		nap.tv_sec = interval_us / 1000000;
		nap.tv_nsec = (interval_us % 1000000) * 1000;
		nanosleep(&nap, NULL);
	}
	fflush(stdout);
	return 0;
}
