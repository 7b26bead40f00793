ALTER TABLE users DROP COLUMN IF EXISTS idp_groups;
ALTER TABLE team_members DROP COLUMN IF EXISTS synced;
ALTER TABLE teams DROP COLUMN IF EXISTS managed_by;
DROP TRIGGER IF EXISTS project_app_users_routes_notify ON project_app_users;
DROP FUNCTION IF EXISTS rise_routes_app_user();
DROP TABLE IF EXISTS project_app_users;
DROP TRIGGER IF EXISTS projects_access_routes_notify ON projects;
DROP FUNCTION IF EXISTS rise_routes_project_access();
-- Every class but public needed a login: it becomes private (while the
-- visibility column 0008's trigger reads still exists).
UPDATE projects SET access_class = 'private' WHERE access_class NOT IN ('public', 'private');
ALTER TABLE projects DROP COLUMN visibility;
ALTER TABLE projects DROP CONSTRAINT projects_access_class_format;
ALTER TABLE projects RENAME COLUMN access_class TO visibility;
ALTER TABLE projects ADD CONSTRAINT projects_visibility CHECK (visibility IN ('public', 'private'));
