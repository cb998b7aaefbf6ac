export declare const PACKAGE_ROOT: string;
export declare const MANIFEST_FORMAT: number;
export declare const BUNDLE_FILE: string;
export declare const MANIFEST_FILE: string;
export declare function cliCacheDir(root?: string): string;
export declare function freshBundle(dir: string, root?: string): string | undefined;
