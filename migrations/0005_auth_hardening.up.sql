-- 0005 auth hardening: OIDC identity binding, token revocation, bounded
-- anonymous login rows (server/auth).

-- user_identities binds a user to the (issuer, subject) of an OIDC provider.
-- An OIDC login finds its user here, never by email alone: a second
-- identity with the same email does not take over a bound account.
CREATE TABLE user_identities (
    issuer     text        NOT NULL,
    subject    text        NOT NULL,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX user_identities_user_idx ON user_identities (user_id);

-- revoked_tokens lists revoked rise tokens and browser sessions by jti; every
-- request checks it, so a revocation reaches every replica at once. A row is
-- useless once the token has expired and is then deleted.
CREATE TABLE revoked_tokens (
    jti        text        PRIMARY KEY,
    user_id    uuid,
    revoked_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX revoked_tokens_expires_idx ON revoked_tokens (expires_at);

-- token_cutoffs revokes every token of a user issued before not_before
-- (`rise logout --all`, an admin's revocation).
CREATE TABLE token_cutoffs (
    user_id    uuid        PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    not_before timestamptz NOT NULL
);

-- The client address that started a pending login, so anonymous rows can be
-- capped per address.
ALTER TABLE auth_requests ADD COLUMN client_ip text NOT NULL DEFAULT '';
CREATE INDEX auth_requests_client_ip_idx ON auth_requests (client_ip, expires_at);
