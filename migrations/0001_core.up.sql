-- 0001 core: users, teams, team membership and projects.
-- Invariants live in constraints so that no code path can break them.

CREATE TABLE users (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    email      text        NOT NULL,
    -- name is the unique handle shown as owner "user:<name>".
    name       text        NOT NULL,
    admin      boolean     NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_name_key UNIQUE (name),
    CONSTRAINT users_email_lower CHECK (email = lower(email) AND email LIKE '_%@_%'),
    CONSTRAINT users_name_format CHECK (name ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$')
);

CREATE TABLE teams (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT teams_name_key UNIQUE (name),
    CONSTRAINT teams_name_format CHECK (name ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$')
);

CREATE TABLE team_members (
    team_id    uuid        NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, user_id),
    CONSTRAINT team_members_role CHECK (role IN ('owner', 'member'))
);
CREATE INDEX team_members_user_idx ON team_members (user_id, team_id);

CREATE TABLE projects (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    -- name is a DNS-1123 label: the app is served at <name>.<domain>.
    name          text        NOT NULL,
    visibility    text        NOT NULL DEFAULT 'public',
    owner_user_id uuid        REFERENCES users (id) ON DELETE RESTRICT,
    owner_team_id uuid        REFERENCES teams (id) ON DELETE RESTRICT,
    -- status is maintained by the deployments controller.
    status        text        NOT NULL DEFAULT 'stopped',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT projects_name_key UNIQUE (name),
    CONSTRAINT projects_name_format CHECK (name ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    CONSTRAINT projects_visibility CHECK (visibility IN ('public', 'private')),
    CONSTRAINT projects_one_owner CHECK ((owner_user_id IS NULL) <> (owner_team_id IS NULL)),
    CONSTRAINT projects_status CHECK (status IN ('running', 'stopped', 'deploying', 'failed', 'deleting'))
);
CREATE INDEX projects_owner_user_idx ON projects (owner_user_id, name) WHERE owner_user_id IS NOT NULL;
CREATE INDEX projects_owner_team_idx ON projects (owner_team_id, name) WHERE owner_team_id IS NOT NULL;
