/** A unified diff, its added and removed lines marked (as text: a patch is the project's, untrusted). */
export function Patch({ patch }: { patch: string }) {
  return (
    <pre className="patch">
      {patch.split("\n").map((line, i) => (
        <span key={i} className={line.startsWith("+") && !line.startsWith("+++") ? "patch-add" : line.startsWith("-") && !line.startsWith("---") ? "patch-del" : undefined}>
          {line}
          {"\n"}
        </span>
      ))}
    </pre>
  );
}
