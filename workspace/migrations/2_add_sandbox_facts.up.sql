-- The port a workspace's dev server listens on (unique among live workspaces on one machine),
-- the dev server's process and the preview last seen working.
ALTER TABLE workspaces
    ADD COLUMN dev_port        integer,
    ADD COLUMN dev_process_id  text,
    ADD COLUMN preview_url     text,
    ADD COLUMN ready_at        timestamptz;
CREATE UNIQUE INDEX workspaces_dev_port_idx ON workspaces (dev_port) WHERE status <> 'deleted';
CREATE INDEX workspaces_sandbox_idx ON workspaces (provider_sandbox_id);
