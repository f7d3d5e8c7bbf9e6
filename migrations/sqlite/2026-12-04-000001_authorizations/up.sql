-- An organization's authorization of an integration, and — once revoked — the developer's duty
-- to delete that organization's data within 30 days. Re-authorizing creates a new row; old rows
-- (and their duties) stay on record.
CREATE TABLE authorizations (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    integration_id TEXT NOT NULL REFERENCES integrations(id),
    -- Space-separated, from: events:read events:write
    scopes TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
    authorized_at TIMESTAMP NOT NULL,
    authorized_by_user_id TEXT REFERENCES users(id),
    -- 'organization' or 'support' (a ConCat admin at the organization's request)
    authorized_via TEXT NOT NULL,
    revoked_at TIMESTAMP,
    revoked_by_user_id TEXT REFERENCES users(id),
    revoked_via TEXT,
    deletion_due_at TIMESTAMP,
    deletion_confirmed_at TIMESTAMP,
    deletion_confirmed_by_user_id TEXT REFERENCES users(id),
    deletion_note TEXT,
    last_used_at TIMESTAMP
);
CREATE INDEX authorizations_org ON authorizations(organization_id, status);
CREATE INDEX authorizations_integration ON authorizations(integration_id, status);
-- At most one active authorization per organization and integration.
CREATE UNIQUE INDEX authorizations_one_active ON authorizations(organization_id, integration_id) WHERE status = 'active';
