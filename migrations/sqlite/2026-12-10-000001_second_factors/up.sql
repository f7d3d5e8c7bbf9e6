-- Second factors (issue 15): passkeys (WebAuthn), an authenticator app (TOTP) and single-use
-- recovery codes; and the server side of WebAuthn ceremonies between the challenge and the
-- answer.
CREATE TABLE passkeys (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- base64url of the credential id, to find the key a discoverable sign-in used
    credential_id TEXT NOT NULL UNIQUE,
    -- webauthn-rs's Passkey (public key, counter), as JSON
    passkey TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP
);
CREATE INDEX passkeys_user ON passkeys (user_id);

CREATE TABLE totp_factors (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- AES-256-GCM under a key derived from PORTAL_SECRET_KEY: base64(nonce || ciphertext)
    secret_sealed TEXT NOT NULL,
    -- the last time step whose code was accepted (a code works once)
    last_used_step BIGINT,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP
);

CREATE TABLE recovery_codes (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- SHA-256 (hex) of the code as shown, without dashes, lower case
    code_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

CREATE TABLE webauthn_ceremonies (
    id TEXT PRIMARY KEY NOT NULL,
    -- NULL for a discoverable sign-in (the user is not known yet)
    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('register', 'authenticate', 'discover')),
    state TEXT NOT NULL,
    -- who asked (a discoverable sign-in is anonymous: its challenges are limited per address)
    client_ip TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX webauthn_ceremonies_expiry ON webauthn_ceremonies (expires_at);
CREATE INDEX webauthn_ceremonies_ip ON webauthn_ceremonies (client_ip, expires_at);
