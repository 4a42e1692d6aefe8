/*
 * run.c: what an extraction job does.
 *
 * The model call is the slow part (seconds) and holds no lock: the lead
 * is read and written only inside lead_merge's short BEGIN IMMEDIATE
 * transaction, after the answer is in.  The job's last merge is also
 * where the job ends and the next is taken (run_end): one transaction
 * per job where there were five.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "extract_llm.h"
#include "lead.h"
#include "llm.h"
#include "log.h"
#include "run.h"
#include "store.h"
#include "util.h"

#define TRIES		3
#define BACKOFF_MS	1000
#define RETRY_AFTER_MAX	30

static int	run_curl_up;	/* curl_global_init has run */

struct body {
	char	*buf;
	size_t	 len;
	int	 too_big;
};

static int
run_collect(void *arg, const char *p, size_t n)
{
	struct body	*b = arg;
	char		*nb;

	if (n > EXTRACT_RESPONSE_MAX - b->len) {
		b->too_big = 1;
		return 1;
	}
	if ((nb = realloc(b->buf, b->len + n + 1)) == NULL)
		return 1;
	b->buf = nb;
	memcpy(b->buf + b->len, p, n);
	b->len += n;
	b->buf[b->len] = '\0';
	return 0;
}

/* 1 when a failed call is worth another try. */
static int
run_retryable(enum llm_fail fail, long status)
{
	if (fail == LLM_CONNECT || fail == LLM_NETWORK)
		return 1;
	return fail == LLM_HTTP && (status == 429 || status == 408 ||
	    status >= 500);
}

/*
 * The model's extraction into ex.  0, or 1 with a reason in err
 * (retryable set when a later job run may succeed).
 */
static int
run_model(const struct config *cfg, const struct store_texts *hist,
    const struct field_opts *opts, struct extraction *ex, char *err,
    size_t errsz, int *retryable)
{
	struct llm_msg	*msgs;
	struct llm_call	 call;
	struct body	 b;
	enum llm_fail	 fail = LLM_OK;
	const char	*model;
	char		*req;
	size_t		 i;
	int		 try, rc = 1;
	long		 wait;

	*retryable = 0;
	if ((msgs = calloc(hist->n + 1, sizeof(*msgs))) == NULL) {
		snprintf(err, errsz, "out of memory");
		return 1;
	}
	for (i = 0; i < hist->n; i++) {
		msgs[i].assistant = hist->roles[i];
		msgs[i].text = hist->texts[i];
		msgs[i].len = hist->lens[i];
	}
	model = cfg->extract_model[0] ? cfg->extract_model :
	    cfg->model[0] ? cfg->model : cfg->provider == PROVIDER_ANTHROPIC ?
	    "claude-3-5-haiku-latest" : "gpt-4o-mini";
	req = extract_body(llm_proto_of(cfg), model, opts, msgs, hist->n);
	free(msgs);
	if (req == NULL) {
		snprintf(err, errsz, "could not build the request");
		return 1;
	}
	for (try = 1; try <= TRIES; try++) {
		memset(&b, 0, sizeof(b));
		memset(&call, 0, sizeof(call));
		call.cfg = cfg;
		call.proto = llm_proto_of(cfg);
		call.body = req;
		call.total_ms = cfg->extract_timeout_ms;
		call.on_data = run_collect;
		call.arg = &b;
		fail = llm_perform(&call);
		if (fail == LLM_OK || (fail == LLM_ABORTED && !b.too_big)) {
			char	why[160];

			if (extract_parse(call.proto, b.buf ? b.buf : "",
			    b.len, opts, ex, why, sizeof(why)) == 0)
				rc = 0;
			else
				snprintf(err, errsz, "model: %s", why);
			free(b.buf);
			break;
		}
		free(b.buf);
		if (b.too_big) {
			snprintf(err, errsz, "model: answer over %d bytes",
			    EXTRACT_RESPONSE_MAX);
			break;
		}
		snprintf(err, errsz, "model: %s", call.why);
		if (!run_retryable(fail, call.status))
			break;
		*retryable = 1;
		if (try == TRIES)
			break;
		wait = (long)BACKOFF_MS << (try - 1);
		if (call.retry_after > 0)
			wait = (call.retry_after > RETRY_AFTER_MAX ?
			    RETRY_AFTER_MAX : call.retry_after) * 1000;
		log_info("extraction: %s; try %d of %d in %ld ms", err,
		    try + 1, TRIES, wait);
		util_sleep_ms(wait);
	}
	free(req);
	return rc;
}

int
run_curl(void)
{
	if (run_curl_up)
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		log_warnx("curl_global_init failed");
		return -1;
	}
	run_curl_up = 1;
	return 0;
}

void
run_curl_done(void)
{
	if (run_curl_up) {
		llm_thread_done();
		curl_global_cleanup();
	}
	run_curl_up = 0;
}

/*
 * The job's last merge, in one transaction with its end (done, or failed
 * with fail) and, unless the merge queued a notification (the firm hears
 * of the lead before the extractor takes its next job), the extractor's
 * next job (next).  0, or -1 (nothing written).
 */
static int
run_end(struct db *db, const struct config *cfg, const struct job *j,
    enum lead_source src, const struct extraction *ex, long latency_ms,
    const char *error, const char *fail, struct run_next *next)
{
	int	queued = 0;

	next->looked = 0;
	if (db_begin_for(db, "conv", j->conv_id) == -1)
		return -1;
	if (lead_merge_in(db, cfg, j->conv_id, j->turn, src, ex, latency_ms,
	    error, &queued) == -1 || (fail == NULL ? jobs_done(db, j->id) :
	    jobs_fail(db, j->id, fail)) == -1)
		goto fail;
	if (!queued) {
		next->got = jobs_next_locked(db, next->pid, next->start,
		    cfg->max_extractors, cfg->stale_ms, next->wait,
		    &next->job);
		if (next->got == CLAIM_ERROR)
			goto fail;
		next->looked = 1;
	}
	if (db_commit(db) == 0)
		return 0;
	next->looked = 0;
	return -1;
fail:
	db_rollback(db);
	next->looked = 0;
	return -1;
}

int
run_job(struct db *db, const struct config *cfg, const struct job *j,
    struct run_next *next, char *err, size_t errsz)
{
	struct store_texts	 hist;
	struct extraction	*ex = NULL;
	struct field_opts	 opts;
	const char		*texts[512];
	size_t			 lens[512], n = 0, i;
	char			 buf[512];
	int64_t			 t0;
	int			 rc = -1, retryable;

	err[0] = '\0';
	next->looked = 0;
	config_field_opts(cfg, &opts, buf, sizeof(buf));
	if (store_history(db, j->conv_id, j->turn, cfg->history_max, 1,
	    &hist) == -1)
		return -1;
	if ((ex = calloc(1, sizeof(*ex))) == NULL)
		goto out;

	/* The floor: rules on what the visitor wrote. */
	t0 = util_mono_ms();
	for (i = 0; i < hist.n && n < 512; i++)
		if (!hist.roles[i]) {
			texts[n] = hist.texts[i];
			lens[n++] = hist.lens[i];
		}
	rules_extract(texts, lens, n, &opts, ex);
	if (cfg->provider == PROVIDER_BUILTIN) {
		/* The only merge: the job ends in it. */
		if (run_end(db, cfg, j, LEAD_SOURCE_RULES, ex,
		    (long)(util_mono_ms() - t0), NULL, NULL, next) == 0)
			rc = 0;
		goto out;
	}
	if (lead_merge(db, cfg, j->conv_id, j->turn, LEAD_SOURCE_RULES, ex,
	    (long)(util_mono_ms() - t0), NULL) == -1)
		goto out;

	t0 = util_mono_ms();
	extraction_clear(ex);
	rc = 0;
	if (run_curl() == -1) {
		snprintf(err, errsz, "libcurl could not be initialised");
		rc = 1;
	} else if (run_model(cfg, &hist, &opts, ex, err, errsz,
	    &retryable) != 0) {
		log_warnx("job %lld (%s turn %d): %s", (long long)j->id,
		    j->conv_id, j->turn, err);
		extraction_clear(ex);
		rc = retryable ? 1 : 0;
	}
	if (run_end(db, cfg, j, LEAD_SOURCE_MODEL, ex,
	    (long)(util_mono_ms() - t0), err[0] ? err : NULL,
	    rc == 1 ? err : NULL, next) == -1)
		rc = -1;
out:
	free(ex);
	store_texts_free(&hist);
	return rc;
}
