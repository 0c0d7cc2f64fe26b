-- The template a workspace was made from (its dependencies and dev server); null: an empty project.
ALTER TABLE workspaces ADD COLUMN template text;
