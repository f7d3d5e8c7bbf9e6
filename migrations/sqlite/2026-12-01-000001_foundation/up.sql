-- Foundation: users, memberships, one-time tokens, login failures, audit log, outbox.
-- Ids are text (UUIDv7); times are UTC timestamps.
CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL,
    email_normalized TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT,
    is_concat_admin BOOLEAN NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    session_version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE developer_accounts (
    id TEXT PRIMARY KEY NOT NULL,
    company_name TEXT NOT NULL,
    website TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE developer_members (
    account_id TEXT NOT NULL REFERENCES developer_accounts(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('owner', 'member')),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (account_id, user_id)
);
CREATE INDEX developer_members_user ON developer_members(user_id);

CREATE TABLE organizations (
    id TEXT PRIMARY KEY NOT NULL,
    public_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE organization_admins (
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX organization_admins_user ON organization_admins(user_id);

CREATE TABLE one_time_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    -- One of TokenPurpose (src/domain/token.rs); what it unlocks depends on it.
    purpose TEXT NOT NULL,
    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    -- The object the link acts on (an integration, an access request), when there is one.
    subject_id TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP,
    used_at TIMESTAMP
);
CREATE INDEX one_time_tokens_user ON one_time_tokens(user_id, purpose);

CREATE TABLE login_failures (
    id TEXT PRIMARY KEY NOT NULL,
    email_normalized TEXT NOT NULL,
    client_ip TEXT NOT NULL,
    failed_at TIMESTAMP NOT NULL
);
CREATE INDEX login_failures_email ON login_failures(email_normalized, failed_at);
CREATE INDEX login_failures_ip ON login_failures(client_ip, failed_at);

CREATE TABLE audit_log (
    id TEXT PRIMARY KEY NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    actor_user_id TEXT,
    actor_label TEXT NOT NULL,
    action TEXT NOT NULL,
    target_type TEXT,
    target_id TEXT,
    details TEXT NOT NULL DEFAULT '{}',
    client_ip TEXT,
    request_id TEXT
);
CREATE INDEX audit_log_time ON audit_log(occurred_at);
CREATE INDEX audit_log_actor ON audit_log(actor_user_id, occurred_at);
CREATE INDEX audit_log_action ON audit_log(action, occurred_at);

CREATE TABLE outbox (
    id TEXT PRIMARY KEY NOT NULL,
    dedup_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    next_attempt_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
