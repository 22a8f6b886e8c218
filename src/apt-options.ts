/**
 * apt-get install's options wherever osk installs Debian packages (the all-in-one's host, the
 * roots of the images it builds): non-interactive, nothing but the dependencies, and a
 * maintainer script's question about a changed config file answered with its own default.
 */
export const APT_INSTALL_OPTIONS = [
  '-y',
  '-q',
  '--no-install-recommends',
  '-o',
  'Dpkg::Options::=--force-confdef',
  '-o',
  'Dpkg::Options::=--force-confold',
] as const;
