-- 005: lead delivery, an outbox written by the merge.
--
-- A lead becomes ready (ready.c says when) in the merge's own BEGIN
-- IMMEDIATE transaction, which sets leads.ready_at and writes one
-- 'lead.ready' row per configured target.  A later change to a ready
-- lead writes one pending 'lead.updated' per target, or joins the one
-- already pending (changes + 1): the content is read from the lead when
-- it is sent, so a joined change is never lost.  A change while the
-- lead.ready itself waits is carried by it (it too is read when sent);
-- one while it is being sent is counted on it (changes + 1) and becomes
-- a lead.updated when it is recorded as sent.
--
-- A sender claims a due row with a lease (lease_until, lease_owner) and
-- attempts + 1 in one transaction, sends without holding any lock, then
-- records the outcome only if the lease is still its own.  A sender
-- killed mid-send leaves a lease that expires; the row is sent again
-- under the same id (the webhook-id, and the e-mail's Message-ID), so a
-- receiver can drop the copy.  tries counts toward the backoff
-- (INTAKE_NOTIFY_BACKOFF_S) and starts again at 0 when staff send a
-- failed row again; attempts counts every try there was.

ALTER TABLE leads ADD COLUMN ready_at TEXT;

CREATE TABLE notifications (
	id		TEXT PRIMARY KEY,	-- "msg_" + 128 random bits
	conversation_id	TEXT NOT NULL
			    REFERENCES conversations(id) ON DELETE CASCADE,
	type		TEXT NOT NULL CHECK (type IN ('lead.ready',
			    'lead.updated')),
	target		TEXT NOT NULL CHECK (target IN ('email', 'webhook')),
	status		TEXT NOT NULL CHECK (status IN ('pending', 'sent',
			    'failed')),
	attempts	INTEGER NOT NULL DEFAULT 0,
	tries		INTEGER NOT NULL DEFAULT 0,
	due_at		INTEGER NOT NULL,	-- unix ms of the next try
	lease_until	INTEGER,		-- unix ms; a sender holds it
	lease_owner	TEXT,			-- which sender ("pid.start.n")
	changes		INTEGER NOT NULL DEFAULT 0, -- changes joined so far
	changes_sent	INTEGER NOT NULL DEFAULT 0, -- as read by the last claim
	last_error	TEXT,
	event_at	TEXT NOT NULL,		-- the change it announces
	created_at	TEXT NOT NULL,
	updated_at	TEXT NOT NULL,
	sent_at		TEXT
);

-- One lead.ready per lead and target, ever; one pending lead.updated.
CREATE UNIQUE INDEX notifications_ready ON notifications
    (conversation_id, target) WHERE type = 'lead.ready';
CREATE UNIQUE INDEX notifications_update_pending ON notifications
    (conversation_id, target) WHERE type = 'lead.updated' AND
    status = 'pending';
-- The claim's order, whole: rows due at one instant (after an outage,
-- or --retry-failed) are not sorted again on every claim.
CREATE INDEX notifications_due ON notifications (status, due_at,
    created_at);
CREATE INDEX notifications_conversation ON notifications
    (conversation_id, created_at);

PRAGMA user_version = 5;
