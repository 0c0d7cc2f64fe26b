// The starting screen: replace it with the app. New components go in src/components/.
export default function App() {
  return (
    <div className="flex min-h-svh flex-col">
      <header className="border-b border-slate-200">
        <div className="mx-auto flex max-w-5xl items-center justify-between px-6 py-4">
          <span className="font-semibold tracking-tight">New app</span>
          <nav aria-label="Main" className="flex gap-6 text-sm text-slate-600">
            <a href="#about" className="hover:text-slate-900">About</a>
          </nav>
        </div>
      </header>

      <main className="mx-auto flex w-full max-w-5xl flex-1 flex-col justify-center px-6 py-16">
        <h1 className="text-4xl font-bold tracking-tight text-balance sm:text-5xl">Your app starts here</h1>
        <p id="about" className="mt-4 max-w-xl text-lg text-slate-600">
          Describe what you want to build, and this page becomes it.
        </p>
        <div className="mt-8">
          <button
            type="button"
            className="rounded-lg bg-brand-600 px-4 py-2 font-medium text-white hover:bg-brand-700 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-brand-600"
          >
            Get started
          </button>
        </div>
      </main>

      <footer className="border-t border-slate-200 py-6 text-center text-sm text-slate-500">Built with Kiln</footer>
    </div>
  );
}
