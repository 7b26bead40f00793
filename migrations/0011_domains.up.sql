-- 0011 custom domains and automatic HTTPS (server/domains, server/certstore).
--
-- domains: a project's own hostnames. A row is a claim until verified_at is
-- set (the DNS TXT record _rise-challenge.<domain> held the row's token); only
-- verified domains route and get certificates. Several projects may claim the
-- same name, but only one may hold it verified (domains_verified_key), so a
-- squatter cannot block its real owner. At most one primary per project.
CREATE TABLE domains (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id  uuid        NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    domain      text        NOT NULL CHECK (domain <> '' AND domain = lower(domain)),
    token       text        NOT NULL,
    is_primary  boolean     NOT NULL DEFAULT false,
    verified_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (project_id, domain)
);
CREATE UNIQUE INDEX domains_verified_key ON domains (domain) WHERE verified_at IS NOT NULL;
CREATE UNIQUE INDEX domains_primary_key ON domains (project_id) WHERE is_primary;

-- The edge's route table holds the verified domains: "d:<project uuid>" tells
-- every replica to reload that project's domains (migration 0008's channel).
CREATE FUNCTION rise_routes_domain() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.verified_at IS NOT NULL THEN
        PERFORM pg_notify('rise_routes', 'd:' || OLD.project_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.verified_at IS NOT NULL
        AND (TG_OP = 'INSERT' OR OLD.verified_at IS NULL OR NEW.project_id IS DISTINCT FROM OLD.project_id
             OR NEW.domain IS DISTINCT FROM OLD.domain) THEN
        PERFORM pg_notify('rise_routes', 'd:' || NEW.project_id);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER domains_routes_notify AFTER INSERT OR UPDATE OR DELETE ON domains
    FOR EACH ROW EXECUTE FUNCTION rise_routes_domain();

-- certmagic's storage (certificates, keys, ACME accounts), shared by every
-- replica, and its locks: a lock row is held until released or until it
-- expires (a crashed holder), and its holder extends it while working.
CREATE TABLE certmagic_data (
    key      text        PRIMARY KEY,
    value    bytea       NOT NULL,
    modified timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE certmagic_locks (
    key        text        PRIMARY KEY,
    holder     text        NOT NULL,
    expires_at timestamptz NOT NULL
);
