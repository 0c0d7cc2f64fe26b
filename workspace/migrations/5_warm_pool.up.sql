-- A spare workspace of the warm pool belongs to no project until a create claims it.
ALTER TABLE workspaces ALTER COLUMN project_id DROP NOT NULL;
CREATE INDEX workspaces_spare_idx ON workspaces (template, created_at) WHERE project_id IS NULL AND status <> 'deleted';
