DROP TABLE webauthn_ceremonies;
DROP TABLE recovery_codes;
DROP TABLE totp_factors;
DROP TABLE passkeys;
