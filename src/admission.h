/*-------------------------------------------------------------------------
 *
 * admission.h
 *	  The login judgement (admission.c): its hooks and the backend's slot.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGB_ADMISSION_H
#define PGB_ADMISSION_H

#include "postgres.h"

extern void pgb_admission_init(void);

#endif							/* PGB_ADMISSION_H */
