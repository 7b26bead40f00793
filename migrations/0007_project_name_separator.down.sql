ALTER TABLE projects DROP CONSTRAINT IF EXISTS projects_name_no_separator;
