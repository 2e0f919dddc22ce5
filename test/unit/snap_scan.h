/*-------------------------------------------------------------------------
 *
 * snap_scan.h
 *	  For the unit tests of the passes after the sampler: give a snapshot
 *	  made by hand the list of rows the sampler would give it
 *	  (snapshot.h, pgb_row_busy), so that a pass is tested as it runs in
 *	  the worker, walking those rows alone.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_TEST_SNAP_SCAN_H
#define PGB_TEST_SNAP_SCAN_H

#include "snapshot.h"

static int	scan_busy[256];

static inline void
scan_as_sampler(PgbSnapshot *snap)
{
	int			i;

	snap->nbusy = 0;
	snap->busy = scan_busy;
	for (i = 0; i < snap->nrows && i < 256; i++)
		if (pgb_row_busy(&snap->rows[i]))
			scan_busy[snap->nbusy++] = i;
}

#endif							/* PGB_TEST_SNAP_SCAN_H */
