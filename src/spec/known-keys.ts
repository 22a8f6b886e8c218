/** The keys a document's schema accepts at a path, read off the zod schema itself (for did-you-mean). */
import type { z } from 'zod';

type AnySchema = z.core.$ZodType;

/** The keys an object at `path` of a document of `root` accepts, found by walking the schema. */
export function knownKeys(root: AnySchema, path: (string | number)[]): string[] {
  let s: AnySchema | undefined = root;
  for (const seg of path) {
    s = unwrap(s);
    if (!s) return [];
    const def = s._zod.def as unknown as Record<string, unknown>;
    if (def.type === 'object') s = (def.shape as Record<string, AnySchema>)[String(seg)];
    else if (def.type === 'array') s = def.element as AnySchema;
    else if (def.type === 'record') s = def.valueType as AnySchema;
    else return [];
  }
  s = unwrap(s);
  const def = s?._zod.def as unknown as Record<string, unknown> | undefined;
  if (def?.type === 'object') return Object.keys(def.shape as object);
  // A record keyed by an enum (images.overrides): its keys are the enum's values.
  const keyDef =
    def?.type === 'record' ? ((def.keyType as AnySchema)._zod.def as unknown as Record<string, unknown>) : undefined;
  if (keyDef?.type === 'enum') return Object.values(keyDef.entries as Record<string, string>);
  return [];
}

function unwrap(s: AnySchema | undefined): AnySchema | undefined {
  while (s) {
    const def = s._zod.def as unknown as Record<string, unknown>;
    if (
      def.type === 'optional' ||
      def.type === 'default' ||
      def.type === 'nullable' ||
      def.type === 'prefault' ||
      def.type === 'readonly'
    )
      s = def.innerType as AnySchema;
    else if (def.type === 'pipe') s = def.in as AnySchema;
    else return s;
  }
  return s;
}
