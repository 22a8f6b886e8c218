/** Suggest the closest known name for a misspelled key (Damerau-free Levenshtein is enough for keys). */
function levenshtein(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(
        prev[j]! + 1,
        prev[j - 1]! + 1,
        diag + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1),
      );
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** Longest word and most candidates a suggestion is computed for: the cost stays bounded whatever the input. */
const SUGGEST_LIMITS = { wordChars: 64, candidates: 200 } as const;

export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  // Keys are short; a longer "word" is not a typo of one, and its distances would cost the most.
  if (word.length > SUGGEST_LIMITS.wordChars) return undefined;
  candidates =
    candidates.length > SUGGEST_LIMITS.candidates ? candidates.slice(0, SUGGEST_LIMITS.candidates) : candidates;
  let best: string | undefined;
  let bestDist = Infinity;
  for (const c of candidates) {
    const d = levenshtein(word, c);
    if (d < bestDist) {
      best = c;
      bestDist = d;
    }
  }
  // Allow roughly one edit per three characters, so "replcias" finds "replicas" but "foo" finds nothing.
  return best !== undefined && bestDist <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}
