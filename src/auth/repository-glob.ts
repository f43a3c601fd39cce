// Repository globs for access rules and API-token scopes: the pure matcher lives in the domain
// layer (oci/repository-glob.ts), shared with lifecycle rules; auth keeps its old import path.
export { compileRepositoryGlob, namespaceOf, repositoryGlob } from '../oci/repository-glob.js';
