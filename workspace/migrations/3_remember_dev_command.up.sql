-- The command the running dev server was started with: a different command restarts it.
ALTER TABLE workspaces ADD COLUMN dev_command text;
