import { ImportFromGit } from "../components/GitForms";
import { NewProjectForm } from "../components/NewProjectForm";
import { ProjectList } from "../components/ProjectList";
import { TopBar } from "../components/TopBar";

export function ProjectsPage() {
  return (
    <div className="page">
      <TopBar />
      <main className="projects">
        <NewProjectForm />
        <ImportFromGit />
        <ProjectList />
      </main>
    </div>
  );
}
