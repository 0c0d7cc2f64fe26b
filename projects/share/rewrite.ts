/**
 * Root-absolute URLs in what a Vite dev server serves, moved under the gateway's prefix.
 *
 * A preview is served at `/s/<token>/`, but its pages name their modules from the root
 * (`<script src="/src/main.tsx">`, `import … from "/node_modules/.vite/deps/react.js"`), which on
 * Kiln's origin would reach the dashboard, not the preview. The gateway rewrites, in HTML, JavaScript
 * and CSS only, the places where Vite's dev output writes such URLs: `src=`/`href=` attributes,
 * static and dynamic imports, CSS `url()`, and the base and socket path Vite's client inlines.
 * URLs an app builds at run time (`fetch("/api")`, string literals) are not seen: see the README.
 */

const REWRITABLE = /^(text\/html|text\/css|text\/javascript|application\/javascript|application\/x-javascript)\b/i;

/** Whether a response of this content type is rewritten (and so must be read whole). */
export function isRewritable(contentType: string | undefined): boolean {
  return contentType !== undefined && REWRITABLE.test(contentType);
}

/** `prefix` is `/s/<token>/`; only root-absolute URLs move (not `//host`, not ones already under the prefix). */
export function rewriteRootUrls(body: string, prefix: string): string {
  const under = (quote: string) => `${quote}${prefix}`;
  return (
    body
      // import x from "/a", export … from "/a", import "/a", import("/a"), src="/a", href="/a"
      .replace(/(\bfrom\s*|\bimport\s*\(?\s*|\b(?:src|href|action)\s*=\s*)(["'`])\/(?![/])(?!s\/)/g, (_m, lead: string, quote: string) => `${lead}${under(quote)}`)
      // url(/a) and url("/a") in CSS
      .replace(/\burl\(\s*(["']?)\/(?![/])(?!s\/)/g, (_m, quote: string) => `url(${under(quote)}`)
      // Vite's client inlines its base as `"/" || "/"` and its socket path as `${"/"}`
      .replace(/(const base(?:\$\d+)? = )"\/"/g, `$1"${prefix}"`)
      .replace(/\$\{"\/"\}/g, `\${"${prefix}"}`)
  );
}

/**
 * The page runs sandboxed (an opaque origin), where touching `localStorage` or `sessionStorage`
 * throws: this first script gives it in-memory stand-ins, so an app that saves to them works
 * (nothing survives a reload in a shared view).
 */
const STORAGE_SHIM = `<script>(()=>{const m=()=>{const d=new Map();return{get length(){return d.size},key:(i)=>[...d.keys()][i]??null,getItem:(k)=>d.has(String(k))?d.get(String(k)):null,setItem:(k,v)=>void d.set(String(k),String(v)),removeItem:(k)=>void d.delete(String(k)),clear:()=>d.clear()}};for(const n of["localStorage","sessionStorage"]){try{window[n]}catch{Object.defineProperty(window,n,{value:m(),configurable:true})}}})();</script>`;

/** An HTML page with the storage stand-ins as its first script. */
export function withStorageShim(html: string): string {
  const head = /<head\b[^>]*>/i.exec(html);
  if (!head) return STORAGE_SHIM + html;
  const at = head.index + head[0].length;
  return html.slice(0, at) + STORAGE_SHIM + html.slice(at);
}
