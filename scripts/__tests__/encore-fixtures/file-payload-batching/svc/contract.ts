/** A contract whose methods carry files. */
export interface FilesApi {
  writeFiles(req: { id: string; files: string[] }): Promise<void>;
  readFiles(req: { id: string; paths: string[] }): Promise<{ files: string[] }>;
  listFiles(req: { id: string }): Promise<{ files: string[] }>;
}
