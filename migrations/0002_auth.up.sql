-- 0002 auth: pending OIDC logins and service accounts.

-- auth_requests holds an in-flight OIDC authorization (CLI PKCE login or
-- browser session login) between "authorize" and "exchange"/"callback".
-- A row is consumed exactly once (DELETE ... RETURNING), which is what
-- refuses a replayed code exchange. Rows live for minutes. Device logins
-- (kind 'device') are keyed by a hash of the device code, so a device code
-- is redeemed for one rise token only.
CREATE TABLE auth_requests (
    state          text        PRIMARY KEY,
    kind           text        NOT NULL,
    provider       text        NOT NULL,
    nonce          text        NOT NULL,
    -- S256 PKCE challenge sent by the CLI (kind 'cli'); for browser logins the
    -- server is the OAuth client and keeps its own verifier.
    code_challenge text        NOT NULL DEFAULT '',
    code_verifier  text        NOT NULL DEFAULT '',
    redirect_uri   text        NOT NULL,
    -- where a browser login returns to (kind 'browser').
    return_to      text        NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    CONSTRAINT auth_requests_kind CHECK (kind IN ('cli', 'browser', 'device'))
);
CREATE INDEX auth_requests_challenge_idx ON auth_requests (code_challenge) WHERE code_challenge <> '';
CREATE INDEX auth_requests_expires_idx ON auth_requests (expires_at);

-- service_accounts bind a trusted issuer plus required claims to one project:
-- a JWT from that issuer whose claims all match acts as a project-scoped
-- identity that may deploy that project and nothing else.
CREATE TABLE service_accounts (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id  uuid        NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    issuer      text        NOT NULL,
    -- claims: {"claim": "exact value or glob"}; at least one.
    claims      jsonb       NOT NULL,
    created_by  uuid        REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT service_accounts_claims_object CHECK (jsonb_typeof(claims) = 'object' AND claims <> '{}'::jsonb)
);
CREATE INDEX service_accounts_issuer_idx ON service_accounts (issuer);
CREATE INDEX service_accounts_project_idx ON service_accounts (project_id, created_at);
