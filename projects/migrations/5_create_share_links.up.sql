-- Share links: a project's live preview for anyone holding the link. Only a sha256 of each token is kept.
CREATE TABLE share_links (
    id          text PRIMARY KEY,
    project_id  text NOT NULL REFERENCES projects (id),
    token_hash  text NOT NULL UNIQUE,
    prefix      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
CREATE INDEX share_links_project_idx ON share_links (project_id, created_at DESC);
