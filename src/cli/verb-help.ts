/** The shape of a verb's help entry (help.ts), shared by the modules that hold entries. */
export interface VerbHelp {
  examples: [command: string, what: string][];
  /** Exit codes besides the shared ones (0 ok, 2 bad input) and what 1 means for this verb. */
  exit: { code: number; meaning: string }[];
}

export const badInput = {
  code: 2,
  meaning: 'bad input: the cloud file, a flag or a path is wrong (the message says which)',
};
