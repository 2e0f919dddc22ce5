/*
 * See scale.sh.  procread ROUNDS FILE...: reads every FILE ROUNDS times
 * as the worker reads /proc and cgroup files (open, read to the end,
 * close; src/cgroup_fs.c's pgb_cgroup_read) and prints the CPU time and
 * the wall time of one read in microseconds, and how many reads were
 * made (a file gone meanwhile is not counted).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double
seconds(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	char		buf[8192];
	long		rounds;
	long		reads = 0;
	long		r;
	int			i;
	double		c0,
				w0,
				c1,
				w1;

	if (argc < 3 || (rounds = atol(argv[1])) <= 0)
	{
		fprintf(stderr, "usage: procread ROUNDS FILE...\n");
		return 2;
	}
	c0 = seconds(CLOCK_PROCESS_CPUTIME_ID);
	w0 = seconds(CLOCK_MONOTONIC);
	for (r = 0; r < rounds; r++)
		for (i = 2; i < argc; i++)
		{
			int			fd = open(argv[i], O_RDONLY);

			if (fd < 0)
				continue;
			while (read(fd, buf, sizeof(buf)) > 0)
				;
			close(fd);
			reads++;
		}
	c1 = seconds(CLOCK_PROCESS_CPUTIME_ID);
	w1 = seconds(CLOCK_MONOTONIC);
	if (reads == 0)
	{
		fprintf(stderr, "procread: no file could be read\n");
		return 1;
	}
	printf("%.2f %.2f %ld\n", (c1 - c0) * 1e6 / reads, (w1 - w0) * 1e6 / reads, reads);
	return 0;
}
