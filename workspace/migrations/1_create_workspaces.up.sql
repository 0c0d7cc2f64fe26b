-- A project's live sandbox and what we last learned of it from its provider.
CREATE TABLE workspaces (
    id                  text PRIMARY KEY,
    project_id          text NOT NULL,
    status              text NOT NULL,
    provider            text NOT NULL,
    provider_sandbox_id text,
    last_error          text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workspaces_project_idx ON workspaces (project_id);
