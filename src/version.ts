/** osk's version: `osk --version`, and the tag of the osk image its Kubernetes Jobs run (catalog/images.ts). */
export const VERSION = '0.1.0';
