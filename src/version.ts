/** osk's version (package.json's; a test keeps the two equal). In its own module so any layer can name it. */
export const VERSION = '0.1.0';
