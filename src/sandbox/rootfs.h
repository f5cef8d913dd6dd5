/* Agent side: build the sandbox root from plan ops, pivot into it, lock it read-only. */
#ifndef SB_SANDBOX_ROOTFS_H
#define SB_SANDBOX_ROOTFS_H

#include <stddef.h>

#include "sandbox/plan.h"

/*
 * Runs as root inside the new mount namespace. Makes every mount private,
 * executes the plan's ops against `staging` (a host directory that the first
 * op, a tmpfs at "/", covers), pivots into it and detaches the old root.
 * Returns 0, or -errno with why naming the step and object.
 */
int rootfs_setup(const struct plan *p, const char *staging, char *why, size_t whylen);

#endif
