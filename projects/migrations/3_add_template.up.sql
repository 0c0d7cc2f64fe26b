-- The starter a project was made from. Projects from before templates started empty: "blank".
ALTER TABLE projects ADD COLUMN template text NOT NULL DEFAULT 'blank';
