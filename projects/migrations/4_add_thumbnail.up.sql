-- The content hash of the project's thumbnail (its PNG is kept by the vfs); null until a check passes.
ALTER TABLE projects ADD COLUMN thumbnail_sha256 text;
