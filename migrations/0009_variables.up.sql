-- 0009 variables: a project's stored configuration (server/variables).
--
-- variables holds VERSIONS of values: setting a name inserts a new row and
-- clears "current" on the old one, so a deployment keeps the exact versions
-- it was created with (deployment_variables) and a rollback restores them.
-- A version no current name or deployment refers to is deleted.
--
-- Every value is sealed: AES-256-GCM under a random data key (sealed =
-- nonce || ciphertext || tag), the data key wrapped by the key-encryption
-- key named key_id (a local key or a KMS key; `rise server rotate-keys`
-- re-wraps wrapped_key, never touching sealed). No column holds a value in
-- plain text.
--
-- environment scopes a variable: NULL applies to every environment of the
-- project (the only scope today); a named environment can be added later
-- without rewriting values.
CREATE TABLE variables (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id  uuid        NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    environment text,
    name        text        NOT NULL,
    -- kind: plain (readable by the project's people), secret (readable by
    -- owners with an explicit reveal), protected (never readable again).
    kind        text        NOT NULL,
    -- current: this version is the name's value now.
    current     boolean     NOT NULL DEFAULT false,
    -- deployment_only: given with one deployment (rise deploy --secret-env);
    -- never current, overrides stored variables in that deployment and its
    -- rollbacks and redeploys.
    deployment_only boolean NOT NULL DEFAULT false,
    sealed      bytea       NOT NULL,
    wrapped_key bytea       NOT NULL,
    key_id      text        NOT NULL,
    created_by  text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT variables_name_format CHECK (name ~ '^[A-Z_][A-Z0-9_]*$' AND length(name) <= 255),
    CONSTRAINT variables_kind CHECK (kind IN ('plain', 'secret', 'protected')),
    CONSTRAINT variables_deployment_only CHECK (NOT (current AND deployment_only)),
    CONSTRAINT variables_environment_format CHECK (environment IS NULL OR environment ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$')
);
-- One current version per project, scope and name.
CREATE UNIQUE INDEX variables_current_idx ON variables (project_id, COALESCE(environment, ''), name) WHERE current;
-- Re-wrapping finds the data keys under old keys.
CREATE INDEX variables_key_idx ON variables (key_id);

-- deployment_variables: the variable versions a deployment was created with.
CREATE TABLE deployment_variables (
    deployment_id uuid   NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    variable_id   bigint NOT NULL REFERENCES variables (id) ON DELETE RESTRICT,
    PRIMARY KEY (deployment_id, variable_id)
);
CREATE INDEX deployment_variables_variable_idx ON deployment_variables (variable_id);
