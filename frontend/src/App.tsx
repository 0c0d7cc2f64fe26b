import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { useState } from "react";
import { isApiError } from "./api/client";
import { AuthProvider, useAuth } from "./auth";
import { HealthBanner } from "./components/HealthBanner";
import { ProjectPage } from "./pages/ProjectPage";
import { ProjectsPage } from "./pages/ProjectsPage";
import { SignInPage } from "./pages/SignInPage";
import { TokensPage } from "./pages/TokensPage";
import { useRoute } from "./router";

function makeQueryClient() {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // Errors a retry cannot fix (4xx) show at once; network trouble gets two more tries.
        retry: (count, error) => (!isApiError(error) || error.status === 0 || error.status >= 500) && count < 2,
        refetchOnWindowFocus: false,
        staleTime: 5_000,
      },
    },
  });
}

function Pages() {
  const { token } = useAuth();
  const route = useRoute();
  if (!token) return <SignInPage />;
  return (
    <div className={route.page === "project" ? "app app-fixed" : "app"}>
      <HealthBanner />
      {route.page === "project" ? <ProjectPage key={route.id} projectId={route.id} jobParam={route.job} /> : route.page === "tokens" ? <TokensPage /> : <ProjectsPage />}
    </div>
  );
}

export function App() {
  const [queryClient] = useState(makeQueryClient);
  return (
    <QueryClientProvider client={queryClient}>
      <AuthProvider onSignOut={() => queryClient.clear()}>
        <Pages />
      </AuthProvider>
    </QueryClientProvider>
  );
}
