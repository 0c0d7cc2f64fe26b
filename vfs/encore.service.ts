import { Service } from "encore.dev/service";

// The durable copy of every project file: content-addressed blobs in MongoDB GridFS.
export default new Service("vfs");
