-- Invitation-only access: requests and their review, integrations, API secrets.
CREATE TABLE access_requests (
    id TEXT PRIMARY KEY NOT NULL,
    -- new_account: a first request from outside; additional_integration: from an existing account.
    kind TEXT NOT NULL CHECK (kind IN ('new_account', 'additional_integration')),
    status TEXT NOT NULL CHECK (status IN ('pending', 'info_requested', 'approved', 'rejected')),
    requester_name TEXT NOT NULL,
    company_name TEXT NOT NULL,
    website TEXT NOT NULL,
    contact_email TEXT NOT NULL,
    contact_email_normalized TEXT NOT NULL,
    phone TEXT,
    app_name TEXT NOT NULL,
    use_case TEXT NOT NULL,
    -- One event customer per line.
    event_customers TEXT NOT NULL DEFAULT '',
    account_id TEXT REFERENCES developer_accounts(id),
    requested_by_user_id TEXT REFERENCES users(id),
    client_ip TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    decided_at TIMESTAMP,
    decided_by_user_id TEXT REFERENCES users(id),
    rejection_reason TEXT,
    integration_id TEXT
);
CREATE INDEX access_requests_queue ON access_requests(status, created_at);
CREATE INDEX access_requests_email ON access_requests(contact_email_normalized, status);
-- One open request per email (new developers only; an account may have several in review).
CREATE UNIQUE INDEX access_requests_one_open_per_email ON access_requests(contact_email_normalized)
    WHERE status IN ('pending', 'info_requested') AND kind = 'new_account';
CREATE INDEX access_requests_ip ON access_requests(client_ip, created_at);

CREATE TABLE access_request_messages (
    id TEXT PRIMARY KEY NOT NULL,
    request_id TEXT NOT NULL REFERENCES access_requests(id) ON DELETE CASCADE,
    author TEXT NOT NULL CHECK (author IN ('admin', 'requester')),
    author_user_id TEXT REFERENCES users(id),
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX access_request_messages_request ON access_request_messages(request_id, created_at);

CREATE TABLE integrations (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES developer_accounts(id),
    api_id TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'inactive', 'retired')),
    created_at TIMESTAMP NOT NULL,
    approved_by_user_id TEXT REFERENCES users(id),
    last_used_at TIMESTAMP
);
CREATE INDEX integrations_account ON integrations(account_id);

CREATE TABLE api_secrets (
    id TEXT PRIMARY KEY NOT NULL,
    integration_id TEXT NOT NULL REFERENCES integrations(id),
    -- The first 10 characters, to recognise a secret; the secret itself is never stored.
    prefix TEXT NOT NULL,
    -- SHA-256 of the whole secret, hex.
    digest TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    created_by_user_id TEXT REFERENCES users(id),
    expires_at TIMESTAMP,
    revoked_at TIMESTAMP,
    last_used_at TIMESTAMP
);
CREATE INDEX api_secrets_integration ON api_secrets(integration_id);
