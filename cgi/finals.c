/*
 * finals.c: the list behind finals.h, a small array under one mutex.
 * Saving happens outside the mutex (a save may wait on the database),
 * on a copy taken under it; an entry is dropped only once saved.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "finals.h"
#include "log.h"
#include "store.h"

struct final {
	int64_t	 msg_id;	/* 0: free */
	char	*text;
	size_t	 len;
	char	*error;
};

static pthread_mutex_t	finals_lock = PTHREAD_MUTEX_INITIALIZER;
static struct final	finals[FINALS_MAX];
static int		finals_n;

static void
final_clear(struct final *f)
{
	free(f->text);
	free(f->error);
	memset(f, 0, sizeof(*f));
}

void
finals_add(int64_t msg_id, const char *text, size_t len, const char *error)
{
	struct final	*f = NULL;
	int		 i;

	pthread_mutex_lock(&finals_lock);
	for (i = 0; i < FINALS_MAX && f == NULL; i++)
		if (finals[i].msg_id == 0)
			f = &finals[i];
	if (f == NULL) {
		pthread_mutex_unlock(&finals_lock);
		log_warnx("reply %lld: too many unsaved replies; it will be "
		    "marked interrupted once its heartbeat is stale",
		    (long long)msg_id);
		return;
	}
	f->text = malloc(len + 1);
	f->error = strdup(error != NULL ? error : "");
	if (f->text == NULL || f->error == NULL) {
		final_clear(f);
		pthread_mutex_unlock(&finals_lock);
		log_warnx("reply %lld: out of memory keeping it unsaved",
		    (long long)msg_id);
		return;
	}
	if (len > 0)
		memcpy(f->text, text, len);
	f->text[len] = '\0';
	f->len = len;
	f->msg_id = msg_id;
	finals_n++;
	pthread_mutex_unlock(&finals_lock);
}

int
finals_gave_up(int64_t msg_id)
{
	int	i, found = 0;

	pthread_mutex_lock(&finals_lock);
	for (i = 0; i < FINALS_MAX && finals_n > 0 && !found; i++)
		found = finals[i].msg_id == msg_id;
	pthread_mutex_unlock(&finals_lock);
	return found;
}

int
finals_flush(struct db *db)
{
	struct final	 f;
	int		 i, left;

	for (i = 0; i < FINALS_MAX; i++) {
		/* Take entry i out; put it back if the save fails. */
		pthread_mutex_lock(&finals_lock);
		f = finals[i];
		memset(&finals[i], 0, sizeof(finals[i]));
		if (f.msg_id != 0)
			finals[i].msg_id = f.msg_id;	/* still given up */
		pthread_mutex_unlock(&finals_lock);
		if (f.msg_id == 0)
			continue;
		if (store_reply_finish(db, f.msg_id, MSG_ERROR, f.text, f.len,
		    f.error) == 0) {
			log_info("reply %lld: saved at last (%zu bytes, as an "
			    "error)", (long long)f.msg_id, f.len);
			final_clear(&f);
			pthread_mutex_lock(&finals_lock);
			finals[i].msg_id = 0;
			finals_n--;
			pthread_mutex_unlock(&finals_lock);
			continue;
		}
		pthread_mutex_lock(&finals_lock);
		finals[i] = f;
		pthread_mutex_unlock(&finals_lock);
	}
	pthread_mutex_lock(&finals_lock);
	left = finals_n;
	pthread_mutex_unlock(&finals_lock);
	return left;
}

int
finals_pending(void)
{
	int	n;

	pthread_mutex_lock(&finals_lock);
	n = finals_n;
	pthread_mutex_unlock(&finals_lock);
	return n;
}

void
finals_free(void)
{
	int	i;

	pthread_mutex_lock(&finals_lock);
	for (i = 0; i < FINALS_MAX; i++)
		final_clear(&finals[i]);
	finals_n = 0;
	pthread_mutex_unlock(&finals_lock);
}
