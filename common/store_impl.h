/*
 * store_impl.h: what the store_*.c files share, and nothing else sees.
 */
#ifndef STORE_IMPL_H
#define STORE_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct db;
struct db_stmt;

/* Now as the time columns hold it, into buf. */
void	 store_now(char *buf, size_t sz);

/*
 * Concatenate a reply's saved parts from the one holding byte offset from
 * on into a malloc'd string; *basep is the offset where it starts.  With
 * from 0 it is the whole saved text (store_parts).
 */
char	*store_parts_from(struct db *, int64_t msg_id, size_t from,
	    size_t *basep, size_t *lenp);
char	*store_parts(struct db *, int64_t msg_id, size_t *lenp);

/* 1 when the owner_node in column i is this node (or none). */
int	 store_ours(struct db_stmt *, int i);

/*
 * Inside a write transaction: mark conv_id's replies whose writer is
 * gone interrupted.  How many streaming replies are left alive, or -1.
 */
int	 store_reap_locked(struct db *, const char *conv_id,
	    const struct store_owner *self);

/* Reap conv_id's orphans in a write transaction of its own, if any. */
int	 store_reap(struct db *, const char *conv_id,
	    const struct store_owner *self);

#endif
