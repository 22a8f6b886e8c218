/**
 * osk's version (package.json's; a test keeps the two equal): `osk --version`, the backup manifest,
 * and the tag of the osk image its Kubernetes Jobs run (catalog/images.ts).
 */
export const VERSION = '0.1.0';
