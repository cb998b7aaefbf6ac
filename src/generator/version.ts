/**
 * The generator's output version. Bump it whenever a change alters the bytes produced for a given
 * seed and options; the manifest records it so an old data set can be reproduced by the version
 * that wrote it, and `--incremental` refuses to continue a data set written by another version.
 */
export const GENERATOR_VERSION = '1.0.0';
